// cardfs measure's arithmetic on known traces (no mount): the documented
// figures of docs/measure.md ("Known workloads") on class10 and a1, the
// lifetime projection, phases, the per-second series and the advice.
#include <catch2/catch.hpp>

#include <cmath>
#include <algorithm>
#include <cstdio>

#include "sdcard/profiles.h"
#include "tools/measure/costs.h"
#include "tools/measure/report.h"

namespace cardfs::measure {
namespace {

constexpr uint64_t MiB = 1 << 20;
constexpr uint64_t kMs = 1'000'000;

replay::TraceEvent write_at(uint64_t t_ns, uint64_t sector, uint64_t sectors) {
  replay::TraceEvent e;
  e.time_ns = t_ns;
  e.op = replay::Op::kWrite;
  e.sector = sector;
  e.sectors = sectors;
  return e;
}

replay::TraceEvent flush_at(uint64_t t_ns) {
  replay::TraceEvent e;
  e.time_ns = t_ns;
  e.op = replay::Op::kFlush;
  return e;
}

// 16 MiB in 512 KiB writes from sector 0, one every 10 ms, then a flush.
replay::Trace sequential_16m() {
  replay::Trace t;
  t.format = "test";
  uint64_t now = 0;
  for (uint64_t s = 0; s < 16 * MiB / 512; s += 1024, now += 10 * kMs) t.events.push_back(write_at(now, s, 1024));
  t.events.push_back(flush_at(now));
  return t;
}

// A logger: 4 KiB records appended from 8 MiB on, one per ms; every 10th
// record the file's inode block (at 64 KiB) is rewritten and the cache
// flushed, as an fsync does.
replay::Trace logger(uint32_t records) {
  replay::Trace t;
  t.format = "test";
  for (uint32_t i = 0; i < records; ++i) {
    const uint64_t now = i * kMs;
    t.events.push_back(write_at(now, 8 * MiB / 512 + uint64_t(i) * 8, 8));
    if ((i + 1) % 10 == 0) {
      t.events.push_back(write_at(now + 100'000, 128, 8));
      t.events.push_back(flush_at(now + 200'000));
    }
  }
  return t;
}

Recording recording(replay::Trace run, double represents_s) {
  Recording r;
  r.run = std::move(run);
  r.card_bytes = 64 * MiB;
  r.command_end_ns = int64_t(r.run.events.back().time_ns) + 1;
  r.represents_s = represents_s;
  return r;
}

ProfileCost cost(const Recording& r, const char* profile) {
  Result<ProfileCost> c = cost_on(r, **sdcard::find_profile(profile));
  REQUIRE(c.is_ok());
  return *c;
}

const Advice& rule(const ProfileCost& c, const std::string& name) {
  for (const Advice& a : c.advice)
    if (a.rule == name) return a;
  FAIL("no advice " << name);
  return c.advice.front();
}

TEST_CASE("a 16 MiB sequential write costs what docs/measure.md says on class10 and a1", "[measure]") {
  const Recording r = recording(sequential_16m(), 3600);
  for (const char* p : {"class10", "a1"}) {
    const ProfileCost c = cost(r, p);
    INFO(p << ": " << table({c}));
    CHECK(c.host_written == 16 * MiB);
    CHECK(c.flash_programmed == 16 * MiB);
    CHECK(c.wa() == 1.0);
    CHECK(c.merges == 0);
    CHECK(c.erases == 0);
    CHECK(c.pending_erases == 0);
    CHECK(std::isinf(c.lifetime_hours));
    CHECK(c.life_used == 0);
    CHECK(c.writes.count == 32);
    CHECK(c.seconds.size() == 1);  // 320 ms of commands
    CHECK(rule(c, "small_writes").value == 0);
    CHECK(rule(c, "unaligned_writes").value == 0);
  }
}

TEST_CASE("a logger fsyncing every 10 records costs class10 merges and a1 none", "[measure]") {
  const Recording r = recording(logger(3600), 3600);  // 3 600 records stand for an hour
  const ProfileCost c10 = cost(r, "class10"), a1 = cost(r, "a1");
  INFO(table({c10, a1}) << advice_text({c10, a1}));
  for (const ProfileCost* c : {&c10, &a1}) {
    CHECK(c->host_written == 3600 * 4096 + 360 * 4096);
    CHECK(c->flushes == 360);
    CHECK(rule(*c, "small_writes").value == 1.0);  // every write is 4 KiB
    CHECK(rule(*c, "fsync_rate").value == Approx(0.1));  // 360 in the hour the run stands for
    CHECK(c->phases.size() == 5);
    CHECK(c->seconds.size() == 4);
  }
  // class10's two open AUs: the inode block's AU and the log's, until
  // the log crosses into the next AU and a third closes one (a merge).
  CHECK(c10.flash_programmed == 46694400);  // WA 2.88
  CHECK(c10.merges == 9);
  CHECK(c10.erases == 14);
  CHECK(c10.device_ns == 3848746400);
  // Each AU erased at most once in the hour: 1 000 rated cycles last
  // 1 000 such hours, and the hour used 0.1 % of them.
  CHECK(*std::max_element(c10.au_wear.begin(), c10.au_wear.end()) == 1);
  CHECK(c10.lifetime_hours == Approx(1000));
  CHECK(c10.life_used == Approx(0.001));
  CHECK(c10.erases_per_hour == Approx(14));
  // a1 maps pages: every flush programs the partly filled page again.
  CHECK(a1.flash_programmed == 23592960);  // WA 1.45
  CHECK(a1.merges == 0);
  CHECK(a1.erases == 0);
  CHECK(a1.device_ns == 1674303200);
  CHECK(std::isinf(a1.lifetime_hours));
  CHECK(rule(c10, "aus_per_second").limit == 2);
  CHECK(rule(c10, "aus_per_second").device_share > 0.3);
  CHECK(rule(a1, "aus_per_second").device_share == 0);
}

TEST_CASE("phases split the command in quarters and keep the unmount apart", "[measure]") {
  Recording r = recording(sequential_16m(), 60);
  r.command_end_ns = 160 * int64_t(kMs);  // the second half of the writes came after the command
  const ProfileCost c = cost(r, "a1");
  REQUIRE(c.phases.size() == 5);
  CHECK(c.phases[0].host_written == 4 * 512 * 1024);  // 0, 10, 20, 30 ms
  CHECK(c.phases[3].host_written == 4 * 512 * 1024);
  CHECK(c.phases[4].name == "sync+unmount");
  CHECK(c.phases[4].host_written == 8 * MiB);
  uint64_t total = 0;
  for (const Phase& p : c.phases) total += p.host_written;
  CHECK(total == c.host_written);
}

TEST_CASE("the per-second series adds up to the totals", "[measure]") {
  const ProfileCost c = cost(recording(logger(3600), 3600), "class10");
  uint64_t written = 0, programmed = 0, erases = 0;
  int64_t device = 0;
  for (const Second& s : c.seconds) {
    written += s.host_written, programmed += s.flash_programmed, erases += s.erases;
    device += s.device_ns;
  }
  CHECK(written == c.host_written);
  CHECK(programmed == c.flash_programmed);
  CHECK(erases == c.erases);
  CHECK(device == c.device_ns);
  const std::string series = csv({c});
  CHECK(series.rfind("profile,second,host_bytes_written", 0) == 0);
  CHECK(std::count(series.begin(), series.end(), '\n') == 1 + long(c.seconds.size()));
}

TEST_CASE("lifetime and duration read as a person would say them", "[measure]") {
  CHECK(lifetime_text(INFINITY) == "never (no erases)");
  CHECK(lifetime_text(1000) == "42 days");
  CHECK(lifetime_text(3 * 8766) == "3.0 years");
  CHECK(lifetime_text(0.5) == "30 min");
  CHECK(duration_text(3600) == "1.0 h");
  CHECK(duration_text(12) == "12.0 s");
}

}  // namespace
}  // namespace cardfs::measure
