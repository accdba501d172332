// The queue's contracts beyond seed 001: errors reach every bio, barriers
// order, tunables, front and request-to-request merges, request sleeps.
#include <catch2/catch.hpp>

#include <random>
#include <thread>

#include "tests/blockdev/queue_harness.h"

using namespace cardfs;
using namespace cardfs::blockdev;
using namespace cardfs::testing;

TEST_CASE("a driver error reaches every bio merged into the request") {
  QueueHarness h;
  std::vector<BioResult> results(64);
  h.driver.fail_next(1, EIO);
  {
    Plug plug(h.queue);
    for (int i = 0; i < 64; ++i) h.queue.submit(h.write(uint64_t(i) * 8, 8, 0, &results[i]));
  }
  REQUIRE(h.driver.log().size() == 1);
  for (auto& r : results) {
    CHECK(r.calls == 1);
    CHECK(r.status == -EIO);
  }
}

TEST_CASE("a split bio completes once, with the error of any part") {
  QueueHarness h;
  h.driver.hold(true);
  BioResult r;
  h.queue.submit(h.bio(BioOp::kWrite, 0, 2560, 0, &r, 65536));
  REQUIRE(h.driver.complete_next());
  h.driver.fail_next(1, EIO);  // the second part fails
  h.driver.complete_all();
  CHECK(r.calls == 1);
  CHECK(r.status == -EIO);
  CHECK(h.driver.log().size() == 3);
}

TEST_CASE("bad bios fail at once without reaching the driver") {
  QueueHarness h;
  BioResult past_end, misaligned;
  h.queue.submit(h.write(h.queue.sector_count() - 4, 8, 0, &past_end));
  auto b = h.write(0, 8, 0, &misaligned);
  b->segments[0].len = 100;
  h.queue.submit(std::move(b));
  CHECK(past_end.status == -EIO);
  CHECK(misaligned.status == -EINVAL);
  CHECK(h.driver.log().empty());
}

TEST_CASE("a flush waits for earlier requests and holds back later ones") {
  QueueHarness h(QueueOptions{}, /*depth=*/4);
  h.driver.hold(true);
  h.queue.submit(h.write(0, 8));
  h.queue.submit(h.write(100, 8));
  h.queue.submit(h.bio(BioOp::kFlush, 0, 0, kBioPreflush));
  h.queue.submit(h.write(200, 8));
  CHECK(h.driver.log().size() == 2);  // the flush waits for both writes
  REQUIRE(h.driver.complete_next());
  CHECK(h.driver.log().size() == 2);
  REQUIRE(h.driver.complete_next());
  auto log = h.driver.log();
  REQUIRE(log.size() == 3);  // the flush goes alone
  CHECK(log[2].op == BioOp::kFlush);
  CHECK(h.driver.held() == 1);
  REQUIRE(h.driver.complete_next());
  log = h.driver.log();
  REQUIRE(log.size() == 4);
  CHECK(log[3].sector == 200);
  h.driver.complete_all();
}

TEST_CASE("preflush and FUA reach the driver and are never merged") {
  QueueHarness h;
  {
    Plug plug(h.queue);
    h.queue.submit(h.write(0, 8));
    h.queue.submit(h.write(8, 8, kBioPreflush | kBioFua | kBioSync));
    h.queue.submit(h.write(16, 8));
  }
  // The preflush write bypasses the plug (blk_insert_flush): its flush
  // command goes first, then its data with FUA; the plugged writes follow.
  auto log = h.driver.log();
  REQUIRE(log.size() == 4);
  CHECK(log[0].op == BioOp::kFlush);
  CHECK((log[1].sector == 8 && log[1].fua && !log[1].preflush));
  CHECK((log[2].sector == 0 && !log[2].fua));
  CHECK(log[3].sector == 16);
}

TEST_CASE("a bio merges at the front of a pending request") {
  QueueHarness h;
  h.driver.hold(true);
  h.queue.submit(h.write(0, 8));  // occupies the card
  h.queue.submit(h.write(108, 8));
  h.queue.submit(h.write(100, 8));
  CHECK(h.count(blktrace::kActFrontMerge) == 1);
  h.driver.complete_all();
  auto log = h.driver.log();
  REQUIRE(log.size() == 2);
  CHECK(log[1].sector == 100);
  CHECK(log[1].sectors == 16);
}

TEST_CASE("a bio that closes a gap merges the two requests around it") {
  QueueHarness h;
  h.driver.hold(true);
  h.queue.submit(h.write(0, 8));
  h.queue.submit(h.write(100, 8));
  h.queue.submit(h.write(116, 8));
  h.queue.submit(h.write(108, 8));
  h.driver.complete_all();
  auto log = h.driver.log();
  REQUIRE(log.size() == 2);
  CHECK(log[1].sector == 100);
  CHECK(log[1].sectors == 24);
  SECTION("but not with nomerges=1") {
    QueueHarness h1;
    REQUIRE(h1.queue.write_attr("nomerges", "1").is_ok());
    h1.driver.hold(true);
    for (uint64_t s : {0, 100, 116, 108}) h1.queue.submit(h1.write(s, 8));
    h1.driver.complete_all();
    // No hash lookups: 108 finds no request to join (the one-hit cache
    // holds only requests that merged before).
    CHECK(h1.driver.log().size() == 4);
  }
}

TEST_CASE("tunables read and write as in sysfs") {
  QueueHarness h;
  CHECK(*h.queue.read_attr("scheduler") == "[mq-deadline] none");
  REQUIRE(h.queue.write_attr("scheduler", "none\n").is_ok());
  CHECK(*h.queue.read_attr("scheduler") == "mq-deadline [none]");
  CHECK(h.queue.read_attr("iosched/read_expire").status().code() == ENOENT);
  REQUIRE(h.queue.write_attr("scheduler", "mq-deadline").is_ok());
  CHECK(*h.queue.read_attr("iosched/read_expire") == "500");
  CHECK(*h.queue.read_attr("iosched/write_expire") == "5000");
  CHECK(*h.queue.read_attr("iosched/writes_starved") == "2");
  CHECK(*h.queue.read_attr("iosched/front_merges") == "1");
  CHECK(*h.queue.read_attr("max_sectors_kb") == "512");
  CHECK(*h.queue.read_attr("max_segments") == "256");
  CHECK(*h.queue.read_attr("max_segment_size") == "65536");
  CHECK(*h.queue.read_attr("hw_sector_size") == "512");
  CHECK(*h.queue.read_attr("nr_requests") == "64");
  REQUIRE(h.queue.write_attr("read_ahead_kb", "256").is_ok());
  CHECK(h.queue.read_ahead_kb() == 256);
  CHECK(h.queue.write_attr("scheduler", "bfq").code() == EINVAL);
  CHECK(h.queue.write_attr("nomerges", "3").code() == EINVAL);
  CHECK(h.queue.write_attr("nomerges", "x").code() == EINVAL);
  CHECK(h.queue.write_attr("max_sectors_kb", "1024").code() == EINVAL);  // above max_hw_sectors_kb
  CHECK(h.queue.write_attr("nr_requests", "2").code() == EINVAL);
  CHECK(h.queue.write_attr("max_segments", "128").code() == EACCES);
  CHECK(h.queue.write_attr("bogus", "1").code() == ENOENT);
  CHECK(h.queue.write_attr("iosched/fifo_batch", "0").code() == EINVAL);
  for (auto& name : h.queue.attr_names()) CHECK(h.queue.read_attr(name).is_ok());
}

TEST_CASE("switching the scheduler keeps pending requests") {
  QueueHarness h(QueueOptions{});
  h.driver.hold(true);
  std::vector<BioResult> r(5);
  for (int i = 0; i < 5; ++i) h.queue.submit(h.write(uint64_t(i) * 100, 8, 0, &r[i]));
  REQUIRE(h.queue.write_attr("scheduler", "none").is_ok());
  h.driver.complete_all();
  for (auto& x : r) CHECK(x.calls == 1);
  CHECK(h.driver.log().size() == 5);
}

TEST_CASE("a submitter sleeps (S) when nr_requests are taken, after flushing its plug") {
  QueueOptions o;
  o.nr_requests = 4;
  QueueHarness h(o);
  h.driver.hold(true);
  std::vector<BioResult> r(8);
  std::thread submitter([&] {
    Plug plug(h.queue);
    for (int i = 0; i < 8; ++i) h.queue.submit(h.write(uint64_t(i) * 100, 8, 0, &r[i]));
  });
  // Complete whatever arrives until the submitter is done (bounded).
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  size_t done = 0;
  while (done < 8 && std::chrono::steady_clock::now() < until) {
    if (!h.driver.complete_next()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    done = 0;
    for (auto& x : r) done += x.calls.load();
  }
  submitter.join();
  h.driver.complete_all();
  h.queue.wait_idle();
  for (auto& x : r) CHECK(x.calls == 1);
  CHECK(h.count(blktrace::kActSleepRq) >= 1);
  CHECK(h.count(blktrace::kActUnplugTimer) >= 1);
}

// A queue driven from one thread (cardfs replay): its driver completes only
// when that thread runs it, so a submitter that slept for a request would
// wait for itself (replay_fuzz found the hang: one bio split in 65).
TEST_CASE("on a one-thread queue a submitter short of requests completes commands instead of sleeping") {
  FakeDriver* driver = nullptr;
  int calls = 0;
  QueueOptions o;
  o.nr_requests = 4;
  o.complete_one = [&] {
    ++calls;
    return driver->complete_next();
  };
  QueueHarness h(o);
  driver = &h.driver;
  h.driver.hold(true);
  BioResult big;
  h.queue.submit(h.bio(BioOp::kWrite, 0, 10240, 0, &big, 65536));  // 10 requests of 512 KiB
  CHECK(calls >= 6);
  CHECK(h.count(blktrace::kActSleepRq) >= 6);
  h.driver.complete_all();
  CHECK(big.calls == 1);
  CHECK(big.status == 0);
  CHECK(h.driver.log().size() == 10);

  SECTION("with nothing in flight to complete, the bio fails rather than wait") {
    o.complete_one = [] { return false; };
    QueueHarness stuck(o);
    stuck.driver.hold(true);
    std::vector<BioResult> r(5);
    // Writes far apart: none merges; the first is dispatched and held.
    for (int i = 0; i < 5; ++i) stuck.queue.submit(stuck.write(uint64_t(i) * 1000, 8, 0, &r[i]));
    CHECK(r[4].calls == 1);
    CHECK(r[4].status == -EBUSY);
    stuck.driver.complete_all();
    for (int i = 0; i < 4; ++i) CHECK(r[i].status == 0);
  }
}

TEST_CASE("many threads submitting with plugs: every bio completes exactly once") {
  const unsigned seed = 20261121;
  INFO("seed " << seed);
  QueueOptions o;
  o.nr_requests = 16;
  QueueHarness h(o, /*depth=*/2);
  std::vector<BioResult> results(4 * 500);
  std::vector<std::thread> threads;
  std::mutex make_mu;  // the harness's arena is not thread-safe
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(seed + t);
      for (int i = 0; i < 500; i += 10) {
        Plug plug(h.queue);
        for (int k = 0; k < 10; ++k) {
          BioPtr b;
          {
            std::lock_guard lock(make_mu);
            const uint64_t sector = (rng() % 4096) * 8;
            b = (rng() & 1) ? h.write(sector, 8, 0, &results[t * 500 + i + k])
                            : h.read(sector, 8, 0, &results[t * 500 + i + k]);
          }
          h.queue.submit(std::move(b));
        }
        if (rng() % 4 == 0) h.queue.write_attr("scheduler", rng() & 1 ? "none" : "mq-deadline").is_ok();
      }
    });
  }
  for (auto& th : threads) th.join();
  h.queue.wait_idle();
  for (auto& r : results) CHECK(r.calls == 1);
  CHECK(h.count(blktrace::kActQueue) == results.size());
  CHECK(h.count(blktrace::kActComplete) == h.count(blktrace::kActIssue));
}
