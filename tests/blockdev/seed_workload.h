// A workload with every kind of event, for the trace tests: seed 001's
// buffered dd (64 page writes under a plug), a readahead read, a
// synchronous write waited for, a flush, and a FUA write of 2560 sectors
// that is split.
#pragma once

#include <chrono>

#include "tests/blockdev/queue_harness.h"

namespace cardfs::testing {

// Returns false if a bio failed.
inline bool seed_workload(QueueHarness& h) {
  using namespace blockdev;
  {
    Plug plug(h.queue);
    for (int i = 0; i < 64; ++i) {
      h.clock.advance(std::chrono::microseconds(2));
      h.queue.submit(h.write(uint64_t(i) * 8, 8));
    }
  }
  h.clock.advance(std::chrono::milliseconds(1));
  h.queue.submit(h.read(4096, 8, kBioReadahead));
  h.clock.advance(std::chrono::milliseconds(1));
  int st;
  {
    Plug plug(h.queue);
    st = submit_and_wait(h.queue, h.write(8192, 256, kBioSync));
  }
  h.queue.submit(h.bio(BioOp::kFlush, 0, 0, kBioPreflush));
  h.queue.submit(h.bio(BioOp::kWrite, 100000, 2560, kBioSync | kBioFua, nullptr, 65536));
  h.queue.wait_idle();
  return st == 0;
}

}  // namespace cardfs::testing
