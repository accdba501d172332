// The trace reads as a kernel's: the action words of seed 001's dd are
// those of a kernel 6.18 trace of the same dd (tests/blockdev/data/kernel/,
// taken by scripts/kernel_trace/capture.sh), and Debian's blkparse and btt
// print the same times, counts and summaries for ours as for a kernel's.
#include <catch2/catch.hpp>

#include <cinttypes>
#include <cstring>
#include <regex>

#include "blockdev/trace_reader.h"
#include "tests/blockdev/queue_harness.h"
#include "tests/blockdev/trace_tools.h"
#include "tests/support/scratch_dir.h"

using namespace cardfs;
using namespace cardfs::blockdev;
using namespace cardfs::testing;
using std::chrono::microseconds;
using std::chrono::milliseconds;

namespace {

const std::string kKernelDir = CARDFS_KERNEL_TRACE_DIR;

// One event as the comparison sees it: what the kernel defines (action
// word, sector, size, error, payload) and who it names.
std::string describe(const blktrace::Record& e, uint64_t base) {
  char buf[160];
  std::snprintf(buf, sizeof(buf), "%-2s %-5s action %08x sector %" PRIu64 " bytes %u error %u pdu %" PRIu64,
                blktrace::act_name(e.act()), blktrace::rwbs(e.action, e.bytes).c_str(), e.action,
                e.sector >= base ? e.sector - base : e.sector, e.bytes, e.error, e.pdu_u64());
  return buf;
}

std::vector<std::string> describe_all(const TraceReader& r, uint64_t base = 0) {
  std::vector<std::string> out;
  for (const auto& e : r.events()) out.push_back(describe(e, base));
  return out;
}

// A bio as the page cache sends seed 001's write-back, from pid 27742 "dd".
BioPtr as_dd(BioPtr b) {
  b->pid = 27742;
  b->comm = {};
  std::strcpy(b->comm.data(), "dd");
  return b;
}

// What `dd bs=128K count=2 conv=fsync` makes the cache do: 64 page bios
// under a plug (sync write-back by the fsync caller), a wait, the flush.
void seed001_fsync(QueueHarness& h) {
  {
    Plug plug(h.queue);
    for (int i = 0; i < 64; ++i) h.queue.submit(as_dd(h.write(uint64_t(i) * 8, 8, kBioSync)));
  }
  h.queue.wait_idle();
  REQUIRE(submit_and_wait(h.queue, as_dd(h.bio(BioOp::kFlush, 0, 0, kBioSync))) == 0);
}

// The number in parentheses on blkparse -t's line for action `act`.
std::vector<uint64_t> elapsed(const std::string& out, const std::string& act) {
  std::vector<uint64_t> v;
  std::regex re(" " + act + " +[A-Z]+ [0-9]+(?: \\+ [0-9]+)? \\( *([0-9]+)\\)");
  for (auto& line : event_lines(out)) {
    std::smatch m;
    if (std::regex_search(line, m, re)) v.push_back(std::stoull(m[1]));
  }
  return v;
}

}  // namespace

TEST_CASE("seed 001's dd conv=fsync: the same events and action words as kernel 6.18's trace") {
  TraceReader kernel;
  REQUIRE(kernel.load({kKernelDir + "seed001_fsync"}).is_ok());
  ScratchDir dir("trace");
  QueueOptions opts;
  opts.trace_cpu = [] { return 0; };
  QueueHarness h(opts);
  REQUIRE(h.queue.start_trace(dir.dir() + "/mmcblk0").is_ok());
  seed001_fsync(h);
  REQUIRE(h.queue.stop_trace().is_ok());
  TraceReader ours;
  REQUIRE(ours.load({dir.dir() + "/mmcblk0"}).is_ok());
  // Q G P (Q M)×63 U I D C, then Q G D C C of the flush: every action word
  // (RWBS, FS and direction bits), sector, size and payload equal.
  const auto k = describe_all(kernel), o = describe_all(ours);
  CHECK(o == k);
  REQUIRE(k.size() == 138);
}

TEST_CASE("a flush is Q FWS, G FWS, D FN, C FN 0, C WS 0 with no P, U or I, counted as blkparse counts a kernel's") {
  ScratchDir dir("trace");
  QueueOptions opts;
  opts.trace_cpu = [] { return 0; };
  QueueHarness h(opts);
  REQUIRE(h.queue.start_trace(dir.dir() + "/mmcblk0").is_ok());
  {
    Plug plug(h.queue);  // a flush bypasses the plug
    REQUIRE(submit_and_wait(h.queue, as_dd(h.bio(BioOp::kFlush, 0, 0, kBioSync))) == 0);
  }
  REQUIRE(h.queue.stop_trace().is_ok());
  auto [rc, out] = run("cd " + dir.dir() + " && blkparse -i mmcblk0 2>/dev/null");
  REQUIRE(rc == 0);
  INFO(out);
  std::regex act_re("^ *[0-9]+,[0-9]+ +[0-9]+ +[0-9]+ +[0-9.]+ +[0-9]+ +([A-Z]+) +([A-Z]+) ?(.*)$");
  std::vector<std::string> got;
  for (auto& l : event_lines(out)) {
    std::smatch m;
    std::string line = l.substr(0, l.size() - 1);
    if (std::regex_match(line, m, act_re)) got.push_back(m[1].str() + " " + m[2].str() + " " + m[3].str());
  }
  REQUIRE(got.size() == 5);
  CHECK(got[0] == "Q FWS [dd]");
  CHECK(got[1] == "G FWS [dd]");
  CHECK(got[2].rfind("D FN [", 0) == 0);
  CHECK(got[3] == "C FN 0 [0]");
  CHECK(got[4] == "C WS 0 [0]");
  // blkparse's summary: one write queued, one read dispatched, one read and
  // one write completed, 0 KiB each (a kernel's trace gives the same).
  CHECK(out.find(" Writes Queued:           1,        0KiB") != std::string::npos);
  CHECK(out.find(" Read Dispatches:        1,        0KiB") != std::string::npos);
  CHECK(out.find(" Reads Completed:        1,        0KiB") != std::string::npos);
  CHECK(out.find(" Writes Completed:        1,        0KiB") != std::string::npos);
  CHECK(h.queue.counter(blktrace::kActQueue).count[1] == 1);
  CHECK(h.queue.counter(blktrace::kActIssue).count[0] == 1);
  CHECK(h.queue.counter(blktrace::kActComplete).count[0] == 1);
  CHECK(h.queue.counter(blktrace::kActComplete).count[1] == 1);
  CHECK(h.driver.log().size() == 1);
  TraceReader reader;
  REQUIRE(reader.load({dir.dir() + "/mmcblk0"}).is_ok());
  const size_t at = out.find("CPU0 (mmcblk0):");
  std::string summary = out.substr(at);
  summary.resize(summary.find("Input file"));
  CHECK(reader.summary("mmcblk0") == summary);
}

TEST_CASE("a preflush FUA write runs as the flush machinery runs it: flush command first, then the data") {
  TraceReader kernel;  // ext4's commit block on a loop device (no FUA there)
  REQUIRE(kernel.load({kKernelDir + "ext4_fsync"}).is_ok());
  std::vector<std::string> want;
  bool in = false;
  for (const auto& e : kernel.events()) {
    if (e.act() == blktrace::kActQueue && (e.action & blktrace::category(blktrace::kTcFlush)) && e.bytes) in = true;
    if (in) want.push_back(std::string(blktrace::act_name(e.act())) + " " + blktrace::rwbs(e.action, e.bytes));
  }
  // The kernel emulates FUA with a postflush (D FN, C FN) because a loop
  // device has none; the card has FUA, so the data keeps its F and the
  // postflush goes: the only difference.
  REQUIRE(want == std::vector<std::string>{"Q FWFSM", "G FWFSM", "D FN", "C FN", "I WSM", "D WSM", "C WSM",
                                          "D FN", "C FN", "C WSM"});
  ScratchDir dir("trace");
  QueueHarness h;
  REQUIRE(h.queue.start_trace(dir.dir() + "/mmcblk0").is_ok());
  REQUIRE(submit_and_wait(h.queue, h.write(32788, 2, kBioPreflush | kBioFua | kBioSync | kBioMeta)) == 0);
  REQUIRE(h.queue.stop_trace().is_ok());
  TraceReader ours;
  REQUIRE(ours.load({dir.dir() + "/mmcblk0"}).is_ok());
  std::vector<std::string> got;
  for (const auto& e : ours.events())
    got.push_back(std::string(blktrace::act_name(e.act())) + " " + blktrace::rwbs(e.action, e.bytes));
  CHECK(got == std::vector<std::string>{"Q FWFSM", "G FWFSM", "D FN", "C FN", "I WFSM", "D WFSM", "C WFSM",
                                        "C WFSM"});
  CHECK(ours.events().back().bytes == 0);  // the original request ends with nothing left
  const auto log = h.driver.log();
  REQUIRE(log.size() == 2);
  CHECK(log[0].op == BioOp::kFlush);
  CHECK((log[1].op == BioOp::kWrite && log[1].fua && !log[1].preflush));
}

TEST_CASE("blkparse -t prints D's and C's times (BLK_TC_FS): C shows D2C, as for a kernel trace") {
  ScratchDir dir("trace");
  QueueHarness h;
  h.driver.hold(true);
  REQUIRE(h.queue.start_trace(dir.dir() + "/mmcblk0").is_ok());
  h.queue.submit(h.write(0, 8, kBioSync));
  h.clock.advance(microseconds(2500));
  REQUIRE(h.driver.complete_next());
  REQUIRE(h.queue.stop_trace().is_ok());
  auto [rc, out] = run("cd " + dir.dir() + " && blkparse -t -i mmcblk0 2>/dev/null");
  REQUIRE(rc == 0);
  INFO(out);
  TraceReader ours;
  REQUIRE(ours.load({dir.dir() + "/mmcblk0"}).is_ok());
  const auto& ev = ours.events();
  REQUIRE(ev.size() == 5);  // Q G I D C
  CHECK(elapsed(out, "D") == std::vector<uint64_t>{ev[3].time - ev[2].time});  // I2D
  CHECK(elapsed(out, "C") == std::vector<uint64_t>{ev[4].time - ev[3].time});  // D2C
  CHECK(ev[4].time - ev[3].time > 2490000);
  // The kernel's own trace prints the same way (the fixture's D2C).
  auto [krc, kout] = run("blkparse -t -i " + kKernelDir + "seed001_fsync 2>/dev/null");
  REQUIRE(krc == 0);
  CHECK(elapsed(kout, "C").size() == 2);  // the data's and the flush command's
}

TEST_CASE("trace_clock=card: D→C lasts the command's device time and later events move with it (btt)") {
  ScratchDir dir("trace");
  QueueOptions opts;
  opts.trace_clock = TraceClock::kCard;
  QueueHarness h(opts);
  h.driver.model_device_time(milliseconds(1), microseconds(10));  // 1 ms + 10 µs a sector
  REQUIRE(h.queue.read_attr("trace_clock").value() == "[card] host");
  REQUIRE(h.queue.start_trace(dir.dir() + "/mmcblk0").is_ok());
  for (int i = 0; i < 3; ++i) {
    h.clock.advance(microseconds(100));  // the host's time between two writes
    REQUIRE(submit_and_wait(h.queue, h.write(uint64_t(i) * 256, 256, kBioSync)) == 0);
  }
  REQUIRE(h.queue.stop_trace().is_ok());
  TraceReader ours;
  REQUIRE(ours.load({dir.dir() + "/mmcblk0"}).is_ok());
  std::vector<uint64_t> d, c, q;
  for (const auto& e : ours.events()) {
    if (e.act() == blktrace::kActIssue) d.push_back(e.time);
    if (e.act() == blktrace::kActComplete) c.push_back(e.time);
    if (e.act() == blktrace::kActQueue) q.push_back(e.time);
  }
  REQUIRE((d.size() == 3 && c.size() == 3 && q.size() == 3));
  for (int i = 0; i < 3; ++i) CHECK(c[i] - d[i] == 3560000);  // 1 ms + 256 × 10 µs
  for (int i = 1; i < 3; ++i) CHECK(q[i] - c[i - 1] >= 100000);  // the host's gap follows the card's time
  auto [rc1, o1] = run("cd " + dir.dir() + " && blkparse -i mmcblk0 -d mmcblk0.bin -O 2>&1");
  REQUIRE(rc1 == 0);
  auto [rc2, btt] = run("cd " + dir.dir() + " && btt -i mmcblk0.bin 2>&1");
  INFO(btt);
  REQUIRE(rc2 == 0);
  std::smatch m;
  REQUIRE(std::regex_search(btt, m, std::regex("\\nD2C +([0-9.]+) +([0-9.]+) +([0-9.]+) +3")));
  CHECK(m[2].str() == "0.003560000");
  REQUIRE(std::regex_search(btt, m, std::regex("\\nQ2C +([0-9.]+) +([0-9.]+) +([0-9.]+) +3")));
  CHECK(std::stod(m[2].str()) >= 0.00356);

  SECTION("trace_clock=host keeps the host's times") {
    REQUIRE(h.queue.write_attr("trace_clock", "host").is_ok());
    REQUIRE(h.queue.start_trace(dir.dir() + "/host").is_ok());
    REQUIRE(submit_and_wait(h.queue, h.write(0, 256, kBioSync)) == 0);
    REQUIRE(h.queue.stop_trace().is_ok());
    TraceReader host;
    REQUIRE(host.load({dir.dir() + "/host"}).is_ok());
    uint64_t dt = 0, ct = 0;
    for (const auto& e : host.events()) {
      if (e.act() == blktrace::kActIssue) dt = e.time;
      if (e.act() == blktrace::kActComplete) ct = e.time;
    }
    CHECK(ct - dt < 1000);  // the fake device finished at once on the host
    CHECK(h.queue.write_attr("trace_clock", "tsc").code() == EINVAL);
  }
}

TEST_CASE("the summary equals blkparse 1.2.0's when requests are not whole KiB") {
  ScratchDir dir("trace");
  QueueOptions opts;
  opts.trace_cpu = [] { return 0; };
  opts.nomerges = 2;
  QueueHarness h(opts);
  REQUIRE(h.queue.start_trace(dir.dir() + "/mmcblk0").is_ok());
  // 1, 3, 5 ... sector writes and reads: remainders of 512 and 1536 bytes.
  for (int i = 0; i < 24; ++i) {
    h.clock.advance(microseconds(37));
    const uint32_t n = 1 + 2 * uint32_t(i % 5);
    REQUIRE(submit_and_wait(h.queue, i % 3 ? h.write(uint64_t(i) * 64, n) : h.read(uint64_t(i) * 64, n)) == 0);
  }
  REQUIRE(h.queue.stop_trace().is_ok());
  auto [rc, out] = run("cd " + dir.dir() + " && blkparse -i mmcblk0 2>/dev/null | grep -v '^Input file'");
  REQUIRE(rc == 0);
  TraceReader reader;
  REQUIRE(reader.load({dir.dir() + "/mmcblk0"}).is_ok());
  CHECK(reader.render({}, true, "mmcblk0") == out);
}
