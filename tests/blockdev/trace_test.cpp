// Traces the queue writes are read by Debian's blkparse and btt, and by
// our own reader, with the same lines and counts.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "blockdev/trace_reader.h"
#include "tests/blockdev/queue_harness.h"
#include "tests/blockdev/seed_workload.h"
#include "tests/blockdev/trace_tools.h"
#include "tests/support/scratch_dir.h"

using namespace cardfs;
using namespace cardfs::blockdev;
using namespace cardfs::testing;


TEST_CASE("blkparse reads our trace: same lines as our reader, counts equal the queue's") {
  ScratchDir dir("trace");
  const std::string name = dir.dir() + "/mmcblk0";
  QueueOptions opts;
  opts.trace_cpu = [] { return 0; };  // deterministic: all events in file 0
  QueueHarness h(opts);
  REQUIRE(h.queue.start_trace(name).is_ok());
  REQUIRE(seed_workload(h));
  REQUIRE(h.queue.stop_trace().is_ok());

  auto [rc, out] = run("cd " + dir.dir() + " && blkparse -i mmcblk0 2>/dev/null");
  REQUIRE(rc == 0);
  INFO(out);
  TraceReader reader;
  REQUIRE(reader.load({name}).is_ok());
  auto lines = event_lines(out);
  REQUIRE(lines.size() == reader.events().size());
  for (size_t i = 0; i < lines.size(); ++i) CHECK(reader.format_event(reader.events()[i]) == lines[i]);

  // Per-action counts in blkparse's text equal the queue's counters.
  std::map<std::string, uint64_t> seen;
  for (auto& l : lines) {
    std::istringstream f(l);
    std::string dev, cpu, seq, time, pid, act;
    f >> dev >> cpu >> seq >> time >> pid >> act;
    seen[act]++;
  }
  for (uint32_t a = 1; a < blktrace::kNumActs; ++a) {
    if (a == blktrace::kActRequeue) continue;
    INFO("action " << blktrace::act_name(blktrace::Act(a)));
    CHECK(seen[blktrace::act_name(blktrace::Act(a))] == h.queue.counter(blktrace::Act(a)).total());
  }
  // `cardfs trace -a C` prints what `blkparse | grep " C "` does.
  std::string completions;
  for (auto& l : lines)
    if (l.find(" C ") != std::string::npos) completions += l;
  CHECK(reader.render({"C"}, false, "mmcblk0") == completions);
  // The summary matches blkparse's too.
  const size_t at = out.find("CPU0 (mmcblk0):");
  REQUIRE(at != std::string::npos);
  std::string summary = out.substr(at);
  summary.resize(summary.find("Input file"));  // blkparse's own progress notes
  CHECK(reader.summary("mmcblk0") == summary);
}

TEST_CASE("btt runs on a dump of our trace") {
  ScratchDir dir("trace");
  const std::string name = dir.dir() + "/mmcblk0";
  QueueHarness h;
  REQUIRE(h.queue.start_trace(name).is_ok());
  REQUIRE(seed_workload(h));
  REQUIRE(h.queue.stop_trace().is_ok());
  auto [rc1, out1] = run("cd " + dir.dir() + " && blkparse -i mmcblk0 -d mmcblk0.bin -O 2>&1");
  REQUIRE(rc1 == 0);
  auto [rc2, out2] = run("cd " + dir.dir() + " && btt -i mmcblk0.bin 2>&1");
  INFO(out2);
  CHECK(rc2 == 0);
  CHECK(out2.find("Q2C") != std::string::npos);
}

TEST_CASE("events spread over CPUs: blkparse and our reader agree on order and per-CPU totals") {
  ScratchDir dir("trace");
  const std::string name = dir.dir() + "/mmcblk0";
  QueueOptions opts;
  auto next = std::make_shared<std::atomic<int>>(0);
  opts.trace_cpu = [next] { return (*next)++ % 2; };  // as if threads hopped CPUs
  QueueHarness h(opts);
  REQUIRE(h.queue.start_trace(name).is_ok());
  REQUIRE(seed_workload(h));
  REQUIRE(h.queue.stop_trace().is_ok());
  auto [rc, out] = run("cd " + dir.dir() + " && blkparse -i mmcblk0 2>/dev/null | grep -v '^Input file'");
  REQUIRE(rc == 0);
  TraceReader reader;
  REQUIRE(reader.load({name}).is_ok());
  CHECK(reader.render({}, true, "mmcblk0") == out);
}

TEST_CASE("the reader refuses a truncated or foreign trace file") {
  ScratchDir dir("trace");
  const std::string name = dir.dir() + "/t";
  QueueOptions opts;
  opts.trace_cpu = [] { return 0; };
  QueueHarness h(opts);
  REQUIRE(h.queue.start_trace(name).is_ok());
  h.queue.submit(h.write(0, 8));
  REQUIRE(h.queue.stop_trace().is_ok());
  const std::string file = name + ".blktrace.0";
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  REQUIRE(bytes.size() > blktrace::kRecordSize);
  TraceReader whole;
  CHECK(whole.load({name}).is_ok());
  std::ofstream(dir.dir() + "/cut", std::ios::binary) << bytes.substr(0, bytes.size() - 5);
  TraceReader cut;
  CHECK(cut.load({dir.dir() + "/cut"}).code() == EINVAL);
  bytes[0] = 'x';
  std::ofstream(dir.dir() + "/foreign", std::ios::binary) << bytes;
  TraceReader foreign;
  CHECK(foreign.load({dir.dir() + "/foreign"}).code() == EINVAL);
  TraceReader missing;
  CHECK(missing.load({dir.dir() + "/nothing"}).code() == ENOENT);
}
