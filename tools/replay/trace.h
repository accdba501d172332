// The events of a block trace, whatever format it came in: what replay
// feeds to a card.
//
// Every reader (one file each: read_blktrace.cpp, read_blkparse.cpp,
// read_ftrace.cpp, read_fio_iolog.cpp) turns its input into a Trace: the
// I/O events of one device in time order, each at the stage it was
// traced (Q: the bio as submitted; D: the request as the device received
// it), with the operation, the sector range and the flush/FUA bits. What a
// reader cannot use (other actions, PC and notify events, messages) it
// counts as skipped. A malformed, truncated or foreign input is an error
// Status naming the file and where; a reader never throws or crashes on
// any input (tests/replay/fuzz).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"

namespace cardfs::replay {

enum class Op : uint8_t { kRead, kWrite, kFlush, kDiscard };
enum class Stage : uint8_t { kQueue, kDispatch };

struct TraceEvent {
  uint64_t time_ns = 0;  // since the first event of the trace
  Stage stage = Stage::kDispatch;
  Op op = Op::kRead;
  uint64_t sector = 0;   // 512-byte sectors; 0 for a flush
  uint64_t sectors = 0;  // 0 for a flush
  bool preflush = false; // the device's cache is flushed before the write
  bool fua = false;      // the write is on stable media when it completes
  bool sync = false;
};

struct Trace {
  std::string format;  // "blktrace", "blkparse", "ftrace-blk", "fio-iolog-v2", "fio-iolog-v3"
  std::vector<TraceEvent> events;  // by time
  // Whether the times are the trace's own: fio's v2 iolog has none, and
  // its commands are replayed back to back.
  bool timed = true;
  uint64_t skipped = 0;  // events of other kinds (M, C, G, PC, notify ...)
  std::string device;    // "179,0", or the file an iolog names

  uint64_t end_sector() const;  // past the highest sector any event touches
  uint64_t count(Stage s) const;
  // Orders the events by time (stable) and makes times relative to the first.
  void sort_by_time();
};

// Operation and flags from blkparse's RWBS column ("WS", "FWFS", "DS",
// "FN", "RA" ...): F before the operation letter is a (pre)flush, F after
// it FUA. Nullopt for a column that is not RWBS. `bytes` == 0 with a
// leading F is a flush of its own (kernel 6.x: Q FWS 0, D FN; cardfs
// before issue 20: FNS).
struct RwbsFlags {
  Op op = Op::kRead;
  bool preflush = false, fua = false, sync = false, none = false;  // none: "N" without F
};
std::optional<RwbsFlags> parse_rwbs(std::string_view rwbs, uint64_t sectors);

// The same from a binary action word's category bits (BLK_TC_*): the
// kernel sets WRITE for writes, FLUSH for PREFLUSH (and for REQ_OP_FLUSH
// requests, with neither READ's bytes nor WRITE), FUA, SYNC, DISCARD.
RwbsFlags flags_from_category(uint32_t action, uint64_t bytes);

// Reads the inputs as one trace. `format`: "auto" (by content), or one of
// "blktrace", "blkparse", "ftrace", "fio". Several binary files (per-CPU,
// NAME.blktrace.N) are merged by time; a base NAME finds its per-CPU
// files as blkparse -i does. Text formats take one file each.
Result<Trace> read_trace(const std::vector<std::string>& inputs, const std::string& format = "auto");

// The readers, on bytes already in memory (what the fuzzer calls).
// `name` is for messages.
Result<Trace> read_blktrace(const std::vector<std::pair<std::string, std::vector<std::byte>>>& files);
Result<Trace> read_blkparse(const std::string& name, std::string_view text);
Result<Trace> read_ftrace(const std::string& name, std::string_view text);
Result<Trace> read_fio_iolog(const std::string& name, std::string_view text);

}  // namespace cardfs::replay
