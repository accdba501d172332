// Seed 001's observations, as behaviour of the queue on a fake card.
#include <catch2/catch.hpp>

#include "tests/blockdev/queue_harness.h"

using namespace cardfs;
using namespace cardfs::blockdev;
using namespace cardfs::testing;
using blktrace::Act;

TEST_CASE("64 page writes under one plug become one 512-sector request with 63 merges") {
  QueueHarness h;
  {
    Plug plug(h.queue);
    for (int i = 0; i < 64; ++i) h.queue.submit(h.write(uint64_t(i) * 8, 8));
    CHECK(h.driver.log().empty());  // nothing leaves while plugged
  }
  auto log = h.driver.log();
  REQUIRE(log.size() == 1);
  CHECK(log[0].sector == 0);
  CHECK(log[0].sectors == 512);
  CHECK(h.count(blktrace::kActQueue) == 64);
  CHECK(h.count(blktrace::kActBackMerge) == 63);
  CHECK(h.count(blktrace::kActGetRq) == 1);
  CHECK(h.count(blktrace::kActPlug) == 1);
  CHECK(h.count(blktrace::kActUnplugIo) == 1);
  CHECK(h.count(blktrace::kActInsert) == 1);
  CHECK(h.count(blktrace::kActIssue) == 1);
  CHECK(h.count(blktrace::kActComplete) == 1);
  CHECK(h.queue.counter(blktrace::kActBackMerge).bytes[1] == 63 * 4096);
}

TEST_CASE("with nomerges=2 the 64 page writes reach the card as 64 requests") {
  QueueHarness h;
  REQUIRE(h.queue.write_attr("nomerges", "2").is_ok());
  {
    Plug plug(h.queue);
    for (int i = 0; i < 64; ++i) h.queue.submit(h.write(uint64_t(i) * 8, 8));
  }
  auto log = h.driver.log();
  REQUIRE(log.size() == 64);
  for (size_t i = 0; i < log.size(); ++i) CHECK(log[i].sectors == 8);
  CHECK(h.count(blktrace::kActBackMerge) == 0);
  CHECK(h.count(blktrace::kActIssue) == 64);
  CHECK(h.count(blktrace::kActComplete) == 64);
  // The plug is sent on when it holds 32 requests, and again at the end.
  CHECK(h.count(blktrace::kActPlug) == 2);
  CHECK(h.count(blktrace::kActUnplugIo) == 2);
}

TEST_CASE("nested plugs send their bios on only when the outermost ends") {
  QueueHarness h;
  {
    Plug outer(h.queue);
    {
      Plug inner(h.queue);
      for (int i = 0; i < 8; ++i) h.queue.submit(h.write(uint64_t(i) * 8, 8));
    }
    CHECK(h.driver.log().empty());
    h.queue.submit(h.write(64, 8));
  }
  auto log = h.driver.log();
  REQUIRE(log.size() == 1);
  CHECK(log[0].sectors == 72);
}

TEST_CASE("nomerges=1 keeps the simple plug merge") {
  QueueHarness h;
  REQUIRE(h.queue.write_attr("nomerges", "1").is_ok());
  {
    Plug plug(h.queue);
    for (int i = 0; i < 64; ++i) h.queue.submit(h.write(uint64_t(i) * 8, 8));
  }
  REQUIRE(h.driver.log().size() == 1);
}

TEST_CASE("two synchronous 256-sector writes, each waited for, stay two requests") {
  QueueHarness h;
  for (int i = 0; i < 2; ++i) {
    Plug plug(h.queue);  // as the direct I/O path plugs
    CHECK(submit_and_wait(h.queue, h.write(uint64_t(i) * 256, 256, kBioSync)) == 0);
  }
  auto log = h.driver.log();
  REQUIRE(log.size() == 2);
  CHECK(log[0].sector == 0);
  CHECK(log[0].sectors == 256);
  CHECK(log[1].sector == 256);
  CHECK(log[1].sectors == 256);
  // Q G P UT I D C per write, as the seed's trace shows.
  CHECK(h.count(blktrace::kActPlug) == 2);
  CHECK(h.count(blktrace::kActUnplugTimer) == 2);
  CHECK(h.count(blktrace::kActUnplugIo) == 0);
  CHECK(h.count(blktrace::kActBackMerge) == 0);
}

TEST_CASE("2560 contiguous sectors become requests of at most max_sectors_kb") {
  QueueHarness h;
  SECTION("as page writes under a plug") {
    Plug plug(h.queue);
    for (int i = 0; i < 320; ++i) h.queue.submit(h.write(uint64_t(i) * 8, 8));
  }
  SECTION("as one big bio, split") {
    h.queue.submit(h.bio(BioOp::kWrite, 0, 2560, kBioSync, nullptr, 65536));
    CHECK(h.count(blktrace::kActSplit) == 2);
  }
  auto log = h.driver.log();
  REQUIRE(log.size() == 3);
  CHECK(log[0].sector == 0);
  CHECK(log[0].sectors == 1024);
  CHECK(log[1].sector == 1024);
  CHECK(log[1].sectors == 1024);
  CHECK(log[2].sector == 2048);
  CHECK(log[2].sectors == 512);
}

TEST_CASE("a lower max_sectors_kb makes smaller requests") {
  QueueHarness h;
  REQUIRE(h.queue.write_attr("max_sectors_kb", "128").is_ok());
  {
    Plug plug(h.queue);
    for (int i = 0; i < 64; ++i) h.queue.submit(h.write(uint64_t(i) * 8, 8));
  }
  auto log = h.driver.log();
  REQUIRE(log.size() == 2);
  CHECK(log[0].sectors == 256);
  CHECK(log[1].sectors == 256);
}

TEST_CASE("merges never give a request more than max_segments segments") {
  QueueHarness h;
  {
    Plug plug(h.queue);
    // 8 sectors in 8 separate 512-byte segments each: 32 bios fill 256.
    for (int i = 0; i < 64; ++i) h.queue.submit(h.bio(BioOp::kWrite, uint64_t(i) * 8, 8, 0, nullptr, 512));
  }
  auto log = h.driver.log();
  REQUIRE(log.size() == 2);
  for (auto& e : log) {
    CHECK(e.sectors == 256);
    CHECK(e.iovecs == 256);
  }
}
