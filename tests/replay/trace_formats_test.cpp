// Each trace format read from small fixtures: synthetic ones checked by
// hand (tests/replay/fixtures/synthetic.*), ones the real tools wrote
// (fio --write_iolog, blktrace and blkparse on a loop device), and
// binary traces built here; and the errors on malformed input.
#include <catch2/catch.hpp>

#include <algorithm>

#include "blockdev/trace_format.h"
#include "tools/replay/trace.h"

namespace cardfs::replay {
namespace {

namespace bt = blockdev::blktrace;

std::string fixture(const std::string& name) { return std::string(CARDFS_REPLAY_FIXTURES) + "/" + name; }

void check_event(const TraceEvent& e, Stage stage, Op op, uint64_t time_ns, uint64_t sector, uint64_t sectors) {
  CHECK(e.stage == stage);
  CHECK(e.op == op);
  CHECK(e.time_ns == time_ns);
  CHECK(e.sector == sector);
  CHECK(e.sectors == sectors);
}

bt::Record record(uint64_t time, bt::Act act, uint32_t cats, uint64_t sector, uint32_t bytes, uint32_t cpu = 0) {
  bt::Record r;
  r.time = time;
  r.sector = sector;
  r.bytes = bytes;
  r.action = bt::action_word(act) | bt::category(cats);
  r.device = bt::make_dev(179, 0);
  r.cpu = cpu;
  return r;
}

std::vector<std::byte> encode_all(const std::vector<bt::Record>& rs) {
  std::vector<std::byte> out;
  for (const bt::Record& r : rs) bt::encode(r, out);
  return out;
}

}  // namespace

TEST_CASE("blkparse text: Q and D events, flush, FUA, discard, preflush - summary ignored", "[replay][formats]") {
  auto t = read_trace({fixture("synthetic.blkparse")});
  REQUIRE(t.is_ok());
  CHECK(t->format == "blkparse");
  CHECK(t->device == "179,0");
  REQUIRE(t->events.size() == 8);
  CHECK(t->skipped == 3);  // G, C, m
  check_event(t->events[0], Stage::kQueue, Op::kWrite, 0, 0, 128);
  check_event(t->events[1], Stage::kDispatch, Op::kWrite, 2000, 0, 128);
  CHECK(t->events[1].sync);
  check_event(t->events[2], Stage::kQueue, Op::kFlush, 20'000'000, 0, 0);
  check_event(t->events[3], Stage::kDispatch, Op::kFlush, 20'001'000, 0, 0);
  check_event(t->events[4], Stage::kDispatch, Op::kWrite, 30'000'000, 128, 8);
  CHECK(t->events[4].fua);
  CHECK(!t->events[4].preflush);
  check_event(t->events[5], Stage::kDispatch, Op::kDiscard, 40'000'000, 4096, 2048);
  check_event(t->events[6], Stage::kDispatch, Op::kRead, 50'000'000, 0, 64);
  check_event(t->events[7], Stage::kDispatch, Op::kWrite, 70'000'000, 256, 8);
  CHECK(t->events[7].preflush);
  CHECK(t->end_sector() == 4096 + 2048);
}

TEST_CASE("ftrace blk tracer text: task names with spaces, flags, comments", "[replay][formats]") {
  auto t = read_trace({fixture("synthetic.ftrace")});
  REQUIRE(t.is_ok());
  CHECK(t->format == "ftrace-blk");
  CHECK(t->device == "7,0");
  REQUIRE(t->events.size() == 3);
  CHECK(t->skipped == 2);
  check_event(t->events[0], Stage::kQueue, Op::kWrite, 0, 2048, 8);
  check_event(t->events[1], Stage::kDispatch, Op::kWrite, 100'000, 2048, 8);
  check_event(t->events[2], Stage::kDispatch, Op::kFlush, 1'900'000, 0, 0);
}

// kernel-ext4-fsync.ftrace: the blk tracer of Linux 6.18 (ftrace,
// /sys/kernel/tracing) on a loop device with ext4, during a small dd with
// conv=fsync: metadata reads, the data write, the journal commit (its
// commit block queued as FWFSM: preflush + FUA, issued as FN, WSM, FN
// since loop has no FUA).
TEST_CASE("ftrace blk tracer text as Linux 6.18 wrote it", "[replay][formats]") {
  auto t = read_trace({fixture("kernel-ext4-fsync.ftrace")});
  REQUIRE(t.is_ok());
  CHECK(t->format == "ftrace-blk");
  CHECK(t->device == "7,0");
  CHECK(t->count(Stage::kQueue) == 16);
  std::vector<TraceEvent> d;
  for (const TraceEvent& e : t->events)
    if (e.stage == Stage::kDispatch) d.push_back(e);
  REQUIRE(d.size() == 11);
  check_event(d[0], Stage::kDispatch, Op::kRead, 15'000, 8742, 2);
  check_event(d[5], Stage::kDispatch, Op::kWrite, 2'960'000, 17410, 8);
  check_event(d[7], Stage::kDispatch, Op::kWrite, 3'050'000, 32772, 16);
  check_event(d[8], Stage::kDispatch, Op::kFlush, 3'075'000, 0, 0);
  check_event(d[9], Stage::kDispatch, Op::kWrite, 6'613'000, 32788, 2);
  check_event(d[10], Stage::kDispatch, Op::kFlush, 6'631'000, 0, 0);
  const auto commit = std::find_if(t->events.begin(), t->events.end(),
                                   [](const TraceEvent& e) { return e.stage == Stage::kQueue && e.sector == 32788; });
  REQUIRE(commit != t->events.end());
  CHECK(commit->preflush);
  CHECK(commit->fua);
  CHECK(commit->sync);
}

TEST_CASE("fio iolog v2: bytes to sectors, wait moves the clock, sync is a flush", "[replay][formats]") {
  auto t = read_trace({fixture("synthetic-v2.iolog")});
  REQUIRE(t.is_ok());
  CHECK(t->format == "fio-iolog-v2");
  CHECK(t->timed);  // it waits
  REQUIRE(t->events.size() == 4);
  check_event(t->events[0], Stage::kQueue, Op::kWrite, 0, 0, 128);
  check_event(t->events[1], Stage::kQueue, Op::kDiscard, 1'000'000, 2048, 8192);
  check_event(t->events[2], Stage::kQueue, Op::kFlush, 1'000'000, 0, 0);
  check_event(t->events[3], Stage::kQueue, Op::kRead, 1'000'000, 8, 16);
}

TEST_CASE("fio iolog v3 as fio 3.33 wrote it (randrw 4k, fsync every 8)", "[replay][formats]") {
  auto t = read_trace({fixture("fio-v3.iolog")});
  REQUIRE(t.is_ok());
  CHECK(t->format == "fio-iolog-v3");
  CHECK(t->timed);
  uint64_t reads = 0, writes = 0, flushes = 0;
  for (const TraceEvent& e : t->events) {
    reads += e.op == Op::kRead;
    writes += e.op == Op::kWrite;
    flushes += e.op == Op::kFlush;
    if (e.op != Op::kFlush) CHECK(e.sectors == 8);
  }
  CHECK(reads + writes + flushes == t->events.size());
  CHECK(writes > 0);
  CHECK(reads > 0);
  CHECK(flushes == writes / 8);
  CHECK(t->end_sector() <= 4 * 1024 * 1024 / 512);
}

// tests/replay/fixtures/cardfs.*: a cardfs mount traced (two CPUs) while
// dd wrote 4 x 64 KiB with fsync and 3 x 4 KiB O_DIRECT, a file was
// removed and everything synced; cardfs.blkparse is Debian's blkparse
// 1.2.0 on those files.
TEST_CASE("cardfs's own trace and blkparse's text of it give the same events", "[replay][formats]") {
  auto binary = read_trace({fixture("cardfs")});
  auto text = read_trace({fixture("cardfs.blkparse")});
  REQUIRE(binary.is_ok());
  REQUIRE(text.is_ok());
  CHECK(binary->format == "blktrace");
  CHECK(text->format == "blkparse");
  CHECK(binary->device == "179,0");
  CHECK(text->device == "179,0");
  REQUIRE(binary->events.size() == text->events.size());
  CHECK(binary->count(Stage::kDispatch) == 18);
  for (size_t i = 0; i < binary->events.size(); ++i) {
    INFO("event " << i);
    const TraceEvent &b = binary->events[i], &t = text->events[i];
    CHECK(b.time_ns == t.time_ns);
    CHECK(b.stage == t.stage);
    CHECK(b.op == t.op);
    CHECK(b.sector == t.sector);
    CHECK(b.sectors == t.sectors);
    CHECK(b.preflush == t.preflush);
    CHECK(b.fua == t.fua);
    CHECK(b.sync == t.sync);
  }
  uint64_t flushes = 0;
  for (const TraceEvent& e : binary->events) flushes += e.op == Op::kFlush && e.stage == Stage::kDispatch;
  CHECK(flushes > 0);  // cardfs's FNS
}

TEST_CASE("blktrace binary: per-CPU files merged by time, notify and PC events skipped", "[replay][formats]") {
  std::vector<bt::Record> cpu0 = {record(1000, bt::kActQueue, bt::kTcWrite | bt::kTcSync, 64, 4096),
                                  record(3000, bt::kActIssue, bt::kTcWrite, 64, 8192),
                                  record(5000, bt::kActComplete, bt::kTcWrite, 64, 8192)};
  std::vector<bt::Record> cpu1 = {record(2000, bt::kActQueue, bt::kTcWrite, 72, 4096, 1),
                                  record(4000, bt::kActIssue, bt::kTcRead, 0, 0, 1),  // no bytes, no flush: "N"
                                  record(4500, bt::kActIssue, bt::kTcPc, 0, 0, 1),
                                  record(6000, bt::kActIssue, bt::kTcFlush, 0, 0, 1)};  // kernel 6.x D FN
  bt::Record note;
  note.action = bt::kProcessNote;
  note.pdu = {std::byte{'d'}, std::byte{'d'}, std::byte{0}};
  cpu1.insert(cpu1.begin(), note);
  auto t = read_blktrace({{"t.blktrace.0", encode_all(cpu0)}, {"t.blktrace.1", encode_all(cpu1)}});
  REQUIRE(t.is_ok());
  REQUIRE(t->events.size() == 4);
  check_event(t->events[0], Stage::kQueue, Op::kWrite, 0, 64, 8);
  check_event(t->events[1], Stage::kQueue, Op::kWrite, 1000, 72, 8);
  check_event(t->events[2], Stage::kDispatch, Op::kWrite, 2000, 64, 16);
  check_event(t->events[3], Stage::kDispatch, Op::kFlush, 5000, 0, 0);
  CHECK(t->skipped == 4);  // C, the "N" issue, PC, the process note
}

TEST_CASE("blktrace binary: cardfs's old flush (FNS) and preflush writes - big-endian files", "[replay][formats]") {
  std::vector<bt::Record> rs = {record(10, bt::kActIssue, bt::kTcFlush | bt::kTcSync, 0, 0),
                                record(20, bt::kActIssue, bt::kTcWrite | bt::kTcFlush | bt::kTcFua, 8, 4096),
                                record(30, bt::kActIssue, bt::kTcWrite | bt::kTcDiscard, 1024, 1 << 20)};
  std::vector<std::byte> le = encode_all(rs);
  // The same records as a big-endian writer puts them: every field swapped.
  std::vector<std::byte> be = le;
  const int widths[] = {4, 4, 8, 8, 4, 4, 4, 4, 4, 2, 2};
  for (size_t at = 0; at < be.size(); at += bt::kRecordSize)
    for (size_t f = 0, off = at; f < std::size(widths); off += size_t(widths[f]), ++f)
      std::reverse(be.begin() + ptrdiff_t(off), be.begin() + ptrdiff_t(off) + widths[f]);
  for (const auto& bytes : {le, be}) {
    auto t = read_blktrace({{"t.blktrace.0", bytes}});
    REQUIRE(t.is_ok());
    REQUIRE(t->events.size() == 3);
    CHECK(t->events[0].op == Op::kFlush);
    CHECK(t->events[1].op == Op::kWrite);
    CHECK(t->events[1].preflush);
    CHECK(t->events[1].fua);
    check_event(t->events[2], Stage::kDispatch, Op::kDiscard, 20, 1024, 2048);
  }
}

TEST_CASE("malformed, truncated and foreign traces are one clear error each", "[replay][formats]") {
  std::vector<std::byte> good = encode_all({record(1, bt::kActIssue, bt::kTcWrite, 0, 512)});
  std::vector<std::byte> cut(good.begin(), good.end() - 5);
  auto truncated = read_blktrace({{"t.blktrace.0", cut}});
  REQUIRE(!truncated.is_ok());
  CHECK(truncated.status().message().find("truncated") != std::string::npos);
  std::vector<bt::Record> two = {record(1, bt::kActIssue, bt::kTcWrite, 0, 512),
                                 record(2, bt::kActIssue, bt::kTcWrite, 0, 512)};
  two[1].device = bt::make_dev(8, 0);
  CHECK(!read_blktrace({{"t", encode_all(two)}}).is_ok());
  struct Case {
    const char* what;
    Result<Trace> (*reader)(const std::string&, std::string_view);
    std::string text;
    const char* says;
  };
  const Case cases[] = {
      {"blkparse garbage", read_blkparse, "hello world\n", "t:1: not a blkparse event line"},
      {"blkparse bad range", read_blkparse, "8,0 0 1 0.1 5 D W 12x + 8 [a]\n", "t:1: bad sector range"},
      {"blkparse bad RWBS", read_blkparse, "8,0 0 1 0.1 5 D WQ 12 + 8 [a]\n", "t:1: bad RWBS"},
      {"blkparse empty", read_blkparse, "", "no blkparse event lines"},
      {"blkparse two devices", read_blkparse, "8,0 0 1 0.1 5 D W 1 + 8 [a]\n8,16 0 2 0.2 5 D W 1 + 8 [a]\n",
       "t:2: events of two devices"},
      {"ftrace no timestamp", read_ftrace, "  dd-1 [000] ..... 7,0 D W 1 + 8 [dd]\n", "t:1: not a blk tracer line"},
      {"fio version 1", read_fio_iolog, "/dev/sda write 0 4096\n", "t:1: not a fio iolog"},
      {"fio unknown action", read_fio_iolog, "fio version 2 iolog\n/dev/sda frob 0 4096\n", "t:2: unknown action"},
      {"fio unaligned", read_fio_iolog, "fio version 2 iolog\n/dev/sda write 1 4096\n", "t:2: offset or length"},
      {"fio v3 no time", read_fio_iolog, "fio version 3 iolog\n/dev/sda write 0 4096\n", "t:2:"},
      {"fio two files", read_fio_iolog, "fio version 2 iolog\n/a write 0 512\n/b write 0 512\n", "t:3: a second file"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    Result<Trace> t = c.reader("t", c.text);
    REQUIRE(!t.is_ok());
    CHECK(t.status().message().find(c.says) != std::string::npos);
    CHECK(t.status().message().find('\n') == std::string::npos);  // one line
  }
  CHECK(!read_trace({"/nonexistent/trace"}).is_ok());
}

}  // namespace cardfs::replay
