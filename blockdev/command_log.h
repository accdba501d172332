// CommandLog: every command a card received, with the data it wrote, in
// blktrace's binary format, so that the tools that read traces read it too
// (`cardfs trace`, `cardfs replay`, blkparse).
//
// Format (one file, NAME.blktrace.0, little-endian as cardfs's traces):
// - first, a process note naming the recording process (its pid and
//   comm, "cardfs"), whose pid every record carries;
// - each card command is a D (issue) record on device 179,0 with the
//   category bits blockdev gives a request (read, write, flush, discard,
//   FUA), its sector and byte count and the card's clock in `time`;
// - a write's data follows it in driver-data records (__BLK_TA_DRV_DATA,
//   as blk_add_driver_data writes them), at most kChunkBytes each, in order;
// - a text marker (`.cardfs/mark`) is a message note (__BLK_TN_MESSAGE, as
//   blk_add_trace_msg writes them), placed between the commands it fell
//   between, stamped with the card's clock at the last command.
// Readers that replay traces take the D records and skip the rest.
//
// Thread-safety: record() is called by the card under its locks (in
// command order); mark() may come from any thread.
#pragma once

#include <cstdio>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "sdcard/card.h"

namespace cardfs::blockdev {

class CommandLog final : public sdcard::CommandRecorder {
 public:
  static constexpr uint32_t kChunkBytes = 32 * 1024;

  // Creates (truncates) NAME.blktrace.0.
  static Result<std::unique_ptr<CommandLog>> create(const std::string& name);
  ~CommandLog() override;

  void record(const sdcard::CommandView& command) override;
  void mark(std::string_view text);
  // Writes what is buffered and closes the file; the first write error
  // since create(), if any. Idempotent.
  Status close();
  const std::string& path() const { return path_; }

 private:
  CommandLog(std::FILE* file, std::string path) : file_(file), path_(std::move(path)) {}
  void put(uint32_t action, uint64_t sector, uint32_t bytes, uint32_t pid,
           std::span<const std::byte> pdu);
  void note_recorder();

  std::mutex mu_;
  std::FILE* file_;
  std::string path_;
  std::vector<std::byte> buf_;
  uint32_t sequence_ = 0;
  uint64_t last_time_ = 0;
  uint32_t pid_ = 0;  // the recording process
  Status error_;
};

// A command read back from a log, its data pointing into the mapped file.
struct LoggedCommand {
  sdcard::CommandKind kind = sdcard::CommandKind::kRead;
  uint64_t sector = 0, sectors = 0;
  bool fua = false;
  uint64_t index = 0;    // since the card was opened: 1, 2, ...
  uint64_t time_ns = 0;  // the card's clock
  std::vector<iovec> data;  // a write's bytes, in the mapping
  // Markers written after the previous command and before this one.
  std::vector<std::string> marks_before;
};

// A command log, mapped read-only; the commands' data stay valid while it
// lives. A log cut short (a crash of the recorder) reads up to its last
// whole record.
class CommandLogReader {
 public:
  static Result<std::unique_ptr<CommandLogReader>> open(const std::string& name);
  ~CommandLogReader();
  const std::vector<LoggedCommand>& commands() const { return commands_; }
  // Markers written after the last command.
  const std::vector<std::string>& trailing_marks() const { return trailing_; }
  bool truncated() const { return truncated_; }

 private:
  CommandLogReader() = default;
  Status parse();

  void* map_ = nullptr;
  size_t size_ = 0;
  std::vector<LoggedCommand> commands_;
  std::vector<std::string> trailing_;
  bool truncated_ = false;
};

}  // namespace cardfs::blockdev
