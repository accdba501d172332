// mq-deadline's order: sector-sorted batches, FIFO expiry, reads first but
// writes after writes_starved read batches.
#include <catch2/catch.hpp>

#include "tests/blockdev/queue_harness.h"

using namespace cardfs;
using namespace cardfs::blockdev;
using namespace cardfs::testing;
using namespace std::chrono_literals;

namespace {

QueueOptions deadline_options(const char* sched = "mq-deadline") {
  QueueOptions o;
  o.scheduler = sched;
  o.nr_requests = 256;
  return o;
}

// Completes held commands one at a time; returns the start sectors in
// the order they reached the driver.
std::vector<uint64_t> drain_order(QueueHarness& h) {
  while (h.driver.complete_next()) {
  }
  std::vector<uint64_t> order;
  for (auto& e : h.driver.log()) order.push_back(e.sector);
  return order;
}

}  // namespace

TEST_CASE("mq-deadline dispatches in ascending sector order from the last position") {
  QueueHarness h(deadline_options());
  h.driver.hold(true);
  for (uint64_t s : {800, 100, 500, 300, 900}) h.queue.submit(h.write(s, 8));
  // 800 went at once; then upward from it (900), then from the lowest.
  CHECK(drain_order(h) == std::vector<uint64_t>{800, 900, 100, 300, 500});
}

TEST_CASE("none dispatches in arrival order") {
  QueueHarness h(deadline_options("none"));
  h.driver.hold(true);
  for (uint64_t s : {800, 100, 500, 300, 900}) h.queue.submit(h.write(s, 8));
  CHECK(drain_order(h) == std::vector<uint64_t>{800, 100, 500, 300, 900});
}

TEST_CASE("an expired request is served before the sector order") {
  QueueHarness h(deadline_options());
  h.driver.hold(true);
  h.queue.submit(h.write(100, 8));   // in flight
  h.queue.submit(h.write(5000, 8));  // deadline at 5 s
  h.clock.advance(1s);
  h.queue.submit(h.write(200, 8));
  h.queue.submit(h.write(300, 8));
  SECTION("after write_expire") {
    h.clock.advance(5s);
    CHECK(drain_order(h) == std::vector<uint64_t>{100, 5000, 200, 300});
  }
  SECTION("before write_expire") {
    h.clock.advance(1s);
    CHECK(drain_order(h) == std::vector<uint64_t>{100, 200, 300, 5000});
  }
  SECTION("with a shorter write_expire") {
    REQUIRE(h.queue.write_attr("iosched/write_expire", "500").is_ok());
    h.clock.advance(1s);  // the 5000 request keeps the deadline it got
    CHECK(drain_order(h) == std::vector<uint64_t>{100, 200, 300, 5000});
  }
}

TEST_CASE("reads are not starved by a stream of writes") {
  QueueHarness h(deadline_options());
  h.driver.hold(true);
  h.queue.submit(h.write(0, 8));
  for (int i = 0; i < 40; ++i) h.queue.submit(h.write(1000 + uint64_t(i) * 16, 8));
  h.queue.submit(h.read(500000, 8));
  auto order = drain_order(h);
  REQUIRE(order.size() == 42);
  CHECK(order[1] == 500000);  // the read overtakes 40 older writes
}

TEST_CASE("writes get a batch after writes_starved read batches") {
  QueueHarness h(deadline_options());
  h.driver.hold(true);
  h.queue.submit(h.read(0, 8));
  for (int i = 0; i < 40; ++i) h.queue.submit(h.read(1000 + uint64_t(i) * 16, 8));
  for (int i = 0; i < 40; ++i) h.queue.submit(h.write(100000 + uint64_t(i) * 16, 8));
  while (h.driver.complete_next()) {
  }
  std::string dirs;
  for (auto& e : h.driver.log()) dirs += e.op == BioOp::kRead ? 'R' : 'W';
  // fifo_batch 16, writes_starved 2: two read batches, a write batch ...
  const std::string expected = "R" + std::string(16, 'R') + std::string(16, 'R') + std::string(16, 'W') +
                               std::string(8, 'R') + std::string(24, 'W');
  CHECK(dirs == expected);
}

TEST_CASE("fifo_batch and writes_starved are tunable") {
  QueueHarness h(deadline_options());
  REQUIRE(h.queue.write_attr("iosched/fifo_batch", "4").is_ok());
  REQUIRE(h.queue.write_attr("iosched/writes_starved", "1").is_ok());
  CHECK(*h.queue.read_attr("iosched/fifo_batch") == "4");
  h.driver.hold(true);
  h.queue.submit(h.read(0, 8));
  for (int i = 0; i < 8; ++i) h.queue.submit(h.read(1000 + uint64_t(i) * 16, 8));
  for (int i = 0; i < 8; ++i) h.queue.submit(h.write(100000 + uint64_t(i) * 16, 8));
  while (h.driver.complete_next()) {
  }
  std::string dirs;
  for (auto& e : h.driver.log()) dirs += e.op == BioOp::kRead ? 'R' : 'W';
  CHECK(dirs == "R" "RRRR" "WWWW" "RRRR" "WWWW");
}
