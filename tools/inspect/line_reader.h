// Where inspect's interactive commands come from: a terminal through
// libedit (Debian's libedit-dev; line editing, and a history kept in a
// file across sessions, as debugfs users expect of a prompt), or any
// stream line by line (a command file, piped input).
#pragma once

#include <istream>
#include <memory>
#include <optional>
#include <string>

namespace cardfs::inspect {

class LineReader {
 public:
  virtual ~LineReader() = default;
  // The next line without its newline; nullopt at the end of input.
  virtual std::optional<std::string> next() = 0;

  // A prompt with line editing; history_file ("" for none) is read now
  // and written back as lines are entered. One at a time per process
  // (libedit's readline interface keeps global state).
  static std::unique_ptr<LineReader> terminal(const std::string& prompt, const std::string& history_file);
  static std::unique_ptr<LineReader> stream(std::istream& in);
};

// $HOME/.cardfs_inspect_history, or "" without a HOME.
std::string default_history_file();

}  // namespace cardfs::inspect
