// Driver: what the request queue dispatches to (the SD card, or a fake).
//
// The queue hands a driver one command per request: an operation, a sector
// range and the request's memory as a coalesced scatter-gather list (the
// bios' memory-contiguous segments joined, as blk_rq_map_sg does). The
// driver calls `done` exactly once with 0 or -errno, from any thread,
// possibly before start() returns. start() is called from one thread at a
// time, and never with more than queue_depth() commands outstanding.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "base/clock.h"
#include "blockdev/bio.h"

namespace cardfs::blockdev {

struct DriverCommand {
  BioOp op = BioOp::kRead;
  uint64_t sector = 0;
  uint64_t sectors = 0;
  bool preflush = false;  // flush the device's cache before the write
  bool fua = false;       // the write is on stable media when done runs
  std::vector<iovec> iov; // empty for flush and discard
};

class Driver {
 public:
  virtual ~Driver() = default;
  virtual uint64_t sector_count() const = 0;
  // Commands the device accepts at once (an SD card takes one).
  virtual uint32_t queue_depth() const = 0;
  virtual void start(DriverCommand cmd, std::function<void(int status)> done) = 0;
  // The device's modeled busy time so far, if it keeps one (the card's
  // timing model): a command's device time is the growth between its start
  // and its completion, which traces on the card's timeline use.
  virtual std::optional<Nanos> device_time() const { return std::nullopt; }
  // Whether a completed discard makes its sectors read back as zeros
  // (Linux's old discard_zeroes_data): mkfs then need not write zeroed
  // tables over a range it has discarded.
  virtual bool discard_zeroes_data() const { return false; }
};

}  // namespace cardfs::blockdev
