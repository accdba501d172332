// Helpers for the queue tests: a queue over a FakeDriver on a virtual
// clock, and bios over a private memory arena.
#pragma once

#include <atomic>
#include <cstring>
#include <memory>
#include <vector>

#include "base/clock.h"
#include "blockdev/queue.h"
#include "tests/blockdev/fake_driver.h"

namespace cardfs::testing {

struct BioResult {
  std::atomic<int> calls{0};
  std::atomic<int> status{1};  // 1 = not completed
};

class QueueHarness {
 public:
  explicit QueueHarness(blockdev::QueueOptions opts = {}, uint32_t depth = 1)
      : driver(1ull << 24, depth), queue(driver, clock, std::move(opts)), arena_(64 << 20) {}

  // A bio of `sectors` at `sector`, one segment per `seg_bytes`, each
  // segment in memory apart from the previous (never coalesced).
  blockdev::BioPtr bio(blockdev::BioOp op, uint64_t sector, uint32_t sectors, uint32_t flags = 0,
                       BioResult* result = nullptr, uint32_t seg_bytes = 4096) {
    auto b = std::make_unique<blockdev::Bio>();
    b->op = op;
    b->sector = sector;
    b->flags = flags;
    b->pid = 120257;
    std::strcpy(b->comm.data(), "kworker/u16:0");
    if (op == blockdev::BioOp::kDiscard) {
      b->discard_sectors = sectors;
    } else if (op != blockdev::BioOp::kFlush) {
      uint32_t left = sectors * blockdev::kSectorSize;
      while (left > 0) {
        const uint32_t n = std::min(left, seg_bytes);
        b->segments.push_back({take(n + 512), n});  // the gap keeps segments apart
        left -= n;
      }
    }
    b->on_complete = [result](int st) {
      if (!result) return;
      result->status = st;
      result->calls++;
    };
    return b;
  }

  blockdev::BioPtr write(uint64_t sector, uint32_t sectors, uint32_t flags = 0, BioResult* r = nullptr) {
    return bio(blockdev::BioOp::kWrite, sector, sectors, flags, r);
  }
  blockdev::BioPtr read(uint64_t sector, uint32_t sectors, uint32_t flags = 0, BioResult* r = nullptr) {
    return bio(blockdev::BioOp::kRead, sector, sectors, flags, r);
  }

  uint64_t count(blockdev::blktrace::Act act) const { return queue.counter(act).total(); }

  VirtualClock clock;
  FakeDriver driver;
  blockdev::Queue queue;

 private:
  std::byte* take(size_t n) {
    if (used_ + n > arena_.size()) used_ = 0;  // reuse: tests never read the data
    std::byte* p = arena_.data() + used_;
    used_ += n;
    return p;
  }
  std::vector<std::byte> arena_;
  size_t used_ = 0;
};

}  // namespace cardfs::testing
