#include "tools/inspect/line_reader.h"

#include <editline/readline.h>

#include <cstdlib>

namespace cardfs::inspect {
namespace {

constexpr int kHistoryLines = 1000;

class TerminalReader final : public LineReader {
 public:
  TerminalReader(std::string prompt, std::string history)
      : prompt_(std::move(prompt)), history_(std::move(history)) {
    using_history();
    stifle_history(kHistoryLines);
    if (!history_.empty()) read_history(history_.c_str());  // absent the first time: fine
  }
  std::optional<std::string> next() override {
    char* raw = readline(prompt_.c_str());
    if (!raw) return std::nullopt;
    std::string line(raw);
    std::free(raw);
    if (line.find_first_not_of(" \t") != std::string::npos) {
      add_history(line.c_str());
      // Written at once: a session ended by ^C or a crash keeps its lines.
      if (!history_.empty()) write_history(history_.c_str());
    }
    return line;
  }

 private:
  std::string prompt_, history_;
};

class StreamReader final : public LineReader {
 public:
  explicit StreamReader(std::istream& in) : in_(in) {}
  std::optional<std::string> next() override {
    std::string line;
    if (!std::getline(in_, line)) return std::nullopt;
    return line;
  }

 private:
  std::istream& in_;
};

}  // namespace

std::unique_ptr<LineReader> LineReader::terminal(const std::string& prompt, const std::string& history_file) {
  return std::make_unique<TerminalReader>(prompt, history_file);
}

std::unique_ptr<LineReader> LineReader::stream(std::istream& in) { return std::make_unique<StreamReader>(in); }

std::string default_history_file() {
  const char* home = std::getenv("HOME");
  return home && *home ? std::string(home) + "/.cardfs_inspect_history" : "";
}

}  // namespace cardfs::inspect
