// Replaying traces against dataless cards: the seed 004 figures, the
// trace's timing (idle gaps, queueing), sizes and errors, --from Q.
#include <catch2/catch.hpp>

#include "sdcard/profiles.h"
#include "tools/replay/replayer.h"

namespace cardfs::replay {
namespace {

constexpr uint64_t MiB = 1024 * 1024;

const sdcard::Profile& profile(const char* name) { return **sdcard::find_profile(name); }

TraceEvent write_at(uint64_t time_ns, uint64_t sector, uint64_t sectors, Stage stage = Stage::kDispatch) {
  TraceEvent e;
  e.time_ns = time_ns;
  e.stage = stage;
  e.op = Op::kWrite;
  e.sector = sector;
  e.sectors = sectors;
  return e;
}

// Seed 004's "Write Speed": 128 MB in 64 KiB commands, then a flush.
Trace seed_trace() {
  Trace t;
  t.format = "test";
  for (uint64_t s = 0; s < 128 * MiB / 512; s += 128) t.events.push_back(write_at(0, s, 128));
  TraceEvent flush;
  flush.op = Op::kFlush;
  t.events.push_back(flush);
  return t;
}

ReplayOptions options(std::optional<uint64_t> size, Stage from = Stage::kDispatch, std::string image = {}) {
  ReplayOptions o;
  o.size_bytes = size;
  o.from = from;
  o.image = std::move(image);
  return o;
}

double seconds(Nanos t) { return double(t.count()) / 1e9; }

}  // namespace

TEST_CASE("seed 004 through replay: 128 MB of 64 KiB writes take 17 s and 88 s", "[replay]") {
  const Trace t = seed_trace();
  auto pny = replay(t, profile("seed-class10"), {});
  REQUIRE(pny.is_ok());
  CHECK(seconds(pny->busy) == Approx(17.0).epsilon(0.01));
  CHECK(pny->card_bytes == 128 * MiB);  // from the trace's sectors
  CHECK(pny->counters.host_sectors_written == 128 * MiB / 512);
  CHECK(pny->writes.count == 2048);
  CHECK(pny->flushes.count == 1);
  CHECK(pny->counters.merges == 0);  // sequential: never merges
  auto transcend = replay(t, profile("seed-class4"), {});
  REQUIRE(transcend.is_ok());
  CHECK(seconds(transcend->busy) == Approx(88.0).epsilon(0.01));
  // Every command arrives at 0: the card is busy throughout, and the
  // last write waited for all the others.
  CHECK(transcend->finish == transcend->busy);
  CHECK(transcend->writes.queue_max > Nanos(std::chrono::seconds(80)));
}

TEST_CASE("the trace's timing: idle gaps stay idle, a busy card makes commands wait", "[replay]") {
  Trace t;
  t.events = {write_at(0, 0, 8), write_at(0, 8, 8), write_at(10'000'000'000, 16, 8)};
  TraceEvent flush;
  flush.op = Op::kFlush;
  flush.time_ns = 10'000'000'000;
  t.events.push_back(flush);
  auto r = replay(t, profile("class10"), {});
  REQUIRE(r.is_ok());
  // The second write waited for the first; the third arrived at an idle card.
  CHECK(r->writes.queue_max == r->writes.service_max);
  CHECK(r->writes.count == 3);
  CHECK(r->span == Nanos(10'000'000'000));
  CHECK(r->finish > Nanos(10'000'000'000));
  CHECK(r->finish < Nanos(10'000'000'000) + r->busy);
  CHECK(r->utilisation() == Approx(double(r->busy.count()) / 1e10));
  CHECK(r->flushes.queue_max > Nanos(0));  // behind the write that arrived with it
}

TEST_CASE("a page-FTL card under random writes collects garbage - wear is summed per AU", "[replay]") {
  Trace t;
  uint64_t x = 12345;
  for (int i = 0; i < 20000; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    t.events.push_back(write_at(uint64_t(i) * 1000, (x >> 20) % (32 * MiB / 4096) * 8, 8));
  }
  auto r = replay(t, profile("a2"), options(32 * MiB));
  REQUIRE(r.is_ok());
  CHECK(r->counters.merges > 0);
  CHECK(r->counters.erases > 0);
  CHECK(r->counters.write_amplification(r->page_bytes) > 4.0);  // 4 KiB into 16 KiB pages, plus GC
  uint64_t erases = 0;
  for (uint32_t c : r->wear.erase_counts) erases += c;
  CHECK(erases == r->counters.erases);
  CHECK(r->wear.max >= r->wear.min);
  CHECK(r->wear.aus == r->wear.erase_counts.size());
}

TEST_CASE("replay errors: sectors beyond the card, a size that is no AU multiple", "[replay]") {
  Trace t;
  t.events = {write_at(0, 100 * MiB / 512, 8)};
  auto small = replay(t, profile("class10"), options(64 * MiB));
  REQUIRE(!small.is_ok());
  CHECK(small.status().message().find("beyond the") != std::string::npos);
  auto odd = replay(t, profile("class10"), options(100 * MiB + 512));
  REQUIRE(!odd.is_ok());
  CHECK(odd.status().message().find("multiple of the AU") != std::string::npos);
  auto missing = replay(t, profile("class10"), options({}, Stage::kDispatch, "/nonexistent.img"));
  CHECK(!missing.is_ok());
}

TEST_CASE("replay from Q: bios merge in cardfs's queue while the card is busy", "[replay]") {
  Trace t;
  for (uint64_t i = 0; i < 64; ++i) t.events.push_back(write_at(0, i * 8, 8, Stage::kQueue));
  auto as_queued = replay(t, profile("class10"), options({}, Stage::kQueue));
  REQUIRE(as_queued.is_ok());
  // The first bio goes to the idle card alone; the other 63 merge behind it.
  CHECK(as_queued->counters.commands == 2);
  CHECK(as_queued->writes.count == 64);  // latency per bio
  CHECK(as_queued->counters.host_sectors_written == 512);
  // Without a D stage the same events go to the card as they are.
  auto direct = replay(t, profile("class10"), {});
  REQUIRE(direct.is_ok());
  CHECK(direct->counters.commands == 64);
  CHECK(direct->busy > as_queued->busy);
}

// replay_fuzz found this hang: the one bio needs more requests than the
// queue holds, and the replay's single thread waited for a free one.
TEST_CASE("replay from Q: a bio split into more requests than the queue holds waits for the card", "[replay]") {
  Trace t;
  TraceEvent read = write_at(0, 0, 40 * MiB / 512, Stage::kQueue);
  read.op = Op::kRead;
  t.events = {read, write_at(1000, 40 * MiB / 512, 8, Stage::kQueue)};
  auto r = replay(t, profile("class10"), options({}, Stage::kQueue));
  REQUIRE(r.is_ok());
  CHECK(r->counters.commands > 64);  // more than nr_requests
  CHECK(r->counters.host_sectors_read == 40 * MiB / 512);
  CHECK(r->reads.count == 1);
  CHECK(r->writes.count == 1);
}

TEST_CASE("replay refuses timestamps that span more than signed nanoseconds hold", "[replay]") {
  Trace t;
  t.events = {write_at(0, 0, 8), write_at(uint64_t(1) << 63, 8, 8)};
  auto r = replay(t, profile("class10"), {});
  REQUIRE(!r.is_ok());
  CHECK(r.status().message().find("corrupt time stamp") != std::string::npos);
}

TEST_CASE("a trace without times (fio v2) runs back to back", "[replay]") {
  Trace t;
  t.timed = false;
  t.events = {write_at(0, 0, 8, Stage::kQueue), write_at(0, 8, 8, Stage::kQueue)};
  auto r = replay(t, profile("class4"), {});
  REQUIRE(r.is_ok());
  CHECK(r->writes.queue_max == Nanos(0));
  CHECK(r->span == r->finish);
  CHECK(r->utilisation() == Approx(1.0));
}

}  // namespace cardfs::replay
