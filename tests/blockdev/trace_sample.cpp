// Writes the seed workload's trace to NAME.blktrace.* (for the CLI test).
#include <cstdio>

#include "tests/blockdev/seed_workload.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s NAME\n", argv[0]);
    return 2;
  }
  cardfs::testing::QueueHarness h;
  if (!h.queue.start_trace(argv[1]).is_ok()) return 1;
  if (!cardfs::testing::seed_workload(h)) return 1;
  return h.queue.stop_trace().is_ok() ? 0 : 1;
}
