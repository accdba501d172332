// Samples for the CLI test against blkparse (cmd_trace_test.sh):
//   blockdev_trace_sample NAME                the seed workload's queue trace in
//                                             NAME.blktrace.*, with message notes
//   blockdev_trace_sample --command-log NAME  a card's command log (blockdev/command_log.h):
//                                             commands, a write's data, markers between
#include <cstdio>
#include <cstring>
#include <vector>

#include "base/clock.h"
#include "blockdev/command_log.h"
#include "sdcard/memory_medium.h"
#include "sdcard/page_store.h"
#include "sdcard/profiles.h"
#include "tests/blockdev/seed_workload.h"

namespace {

int queue_trace(const char* name) {
  cardfs::testing::QueueHarness h;
  if (!h.queue.start_trace(name).is_ok()) return 1;
  h.queue.trace_message("before the seed workload", 4242);
  if (!cardfs::testing::seed_workload(h)) return 1;
  h.queue.trace_message("after it", 4242);
  return h.queue.stop_trace().is_ok() ? 0 : 1;
}

int command_log(const char* name) {
  using namespace cardfs;
  auto log = blockdev::CommandLog::create(name);
  if (!log.is_ok()) return 1;
  VirtualClock clock;
  sdcard::CardOptions o;
  o.recorder = log->get();
  auto card = sdcard::Card::create(sdcard::memory_store(std::make_shared<sdcard::MemoryMedium>()),
                                   **sdcard::find_profile("class10"), 16 << 20, clock, o);
  if (!card.is_ok()) return 1;
  std::vector<std::byte> data(80 * 1024, std::byte(7));  // three data records
  const iovec v{data.data(), data.size()};
  bool ok = (*card)->write(2048, {&v, 1}, false).is_ok();
  (*log)->mark("committed 1");
  ok = ok && (*card)->flush().is_ok();
  ok = ok && (*card)->write(16, {&v, 1}, true).is_ok();
  (*log)->mark("committed 2");
  ok = ok && (*card)->discard(4096, 64).is_ok();
  ok = ok && (*card)->read(2048, {&v, 1}).is_ok();
  (*log)->mark("done");
  ok = ok && (*card)->close().is_ok();
  return ok && (*log)->close().is_ok() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--command-log") == 0) return command_log(argv[2]);
  if (argc == 2) return queue_trace(argv[1]);
  std::fprintf(stderr, "usage: %s NAME | --command-log NAME\n", argv[0]);
  return 2;
}
