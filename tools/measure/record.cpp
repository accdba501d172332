#include "tools/measure/record.h"

#include <signal.h>

#include <chrono>
#include <filesystem>

#include "blockdev/trace_reader.h"
#include "tools/workload/fs_on_card.h"
#include "tools/workload/process.h"

namespace cardfs::measure {
namespace {

using Steady = std::chrono::steady_clock;

int64_t ns_between(Steady::time_point a, Steady::time_point b) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
}

// The time of the trace's first I/O event since the tracer started: what
// replay's times (relative to that event) are shifted by.
Result<int64_t> first_event_ns(const std::string& trace) {
  blockdev::TraceReader reader;
  CARDFS_RETURN_IF_ERROR(reader.load({trace}));
  namespace bt = blockdev::blktrace;
  for (const bt::Record& r : reader.events())  // in time order
    if (!r.is_notify() && (r.act() == bt::kActQueue || r.act() == bt::kActIssue)) return int64_t(r.time);
  return int64_t(0);
}

// Runs the user's command in the mount: its output goes to command.log.
Result<int> run_command(const RecordOptions& o, const std::string& mnt) {
  workload::SpawnOptions s;
  s.cwd = mnt;
  s.env = {{"CARDFS_MNT", mnt}};
  s.stdout_path = s.stderr_path = o.out_dir + "/command.log";
  CARDFS_ASSIGN_OR_RETURN(pid_t pid, workload::spawn(o.command, s));
  // A workload may run for long; it is the user's to bound (no timeout)
  // or to interrupt.
  bool told = false;
  for (;;) {
    Result<int> rc = workload::wait_for(pid, std::chrono::milliseconds(200));
    if (rc.is_ok() || rc.status().code() != ETIMEDOUT) return rc;
    if (!told && o.interrupted && o.interrupted()) {
      ::kill(pid, SIGTERM);
      told = true;
    }
  }
}

Result<std::vector<std::string>> base_images(const RecordOptions& o) {
  std::vector<std::string> out;
  for (const std::string& p : o.profiles) {
    const std::string img = o.work_dir + "/base-" + p + ".img";
    CARDFS_RETURN_IF_ERROR(workload::run(
        {o.cardfs, "mkfs", "--profile", p, "--size", std::to_string(o.size_bytes), img}, std::chrono::seconds(300)));
    out.push_back(img);
  }
  return out;
}

// The traces into r; command_end_ns: when the command ended, since the
// mount was started. The tracer started just after that: the command's
// end on the trace's clock, to within the mount's start-up (docs/measure.md).
Status read_traces(const std::string& setup_trace, const std::string& run_trace, int64_t command_end_ns,
                   Recorded& r) {
  CARDFS_ASSIGN_OR_RETURN(r.rec.run, replay::read_trace({run_trace}, "blktrace"));
  if (!setup_trace.empty()) {
    CARDFS_ASSIGN_OR_RETURN(r.rec.setup, replay::read_trace({setup_trace}, "blktrace"));
  }
  CARDFS_ASSIGN_OR_RETURN(int64_t first, first_event_ns(run_trace));
  r.rec.command_end_ns = std::max<int64_t>(0, command_end_ns - first);
  return Status::ok();
}

}  // namespace

Result<Recorded> record(const RecordOptions& o) {
  auto say = [&](const std::string& s) { if (o.progress) o.progress(s); };
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir + "/trace", ec);
  std::filesystem::create_directories(o.work_dir + "/card", ec);
  const std::string setup_trace = o.out_dir + "/trace/mkfs", run_trace = o.out_dir + "/trace/run";
  workload::CardSpec spec{o.cardfs, o.fs, o.profiles.front(), o.size_bytes, o.work_dir + "/card"};
  say("making " + o.fs + " on a " + o.profiles.front() + " card");
  CARDFS_ASSIGN_OR_RETURN(std::unique_ptr<workload::FsOnCard> card, workload::FsOnCard::make(spec, setup_trace));
  say("mounting");
  const Steady::time_point launch = Steady::now();
  CARDFS_RETURN_IF_ERROR(card->mount(run_trace));
  say("running the command");
  const Steady::time_point start = Steady::now();
  Result<int> rc = run_command(o, card->mount_point());
  const Steady::time_point end = Steady::now();
  say("syncing and unmounting");
  Status st = card->unmount();
  card.reset();  // whatever a failure left is taken down here
  CARDFS_RETURN_IF_ERROR(st);
  if (!rc.is_ok()) return rc.status().with_context("running the command");

  Recorded r;
  r.exit_status = *rc;
  r.wall_s = double(ns_between(start, end)) / 1e9;
  r.rec.card_bytes = o.size_bytes;
  say("reading the trace");
  CARDFS_RETURN_IF_ERROR(read_traces(spec.fs == "cardfs" ? "" : setup_trace, run_trace, ns_between(launch, end), r));
  if (spec.fs == "cardfs") {
    say("making the other profiles' cards");
    CARDFS_ASSIGN_OR_RETURN(r.base_images, base_images(o));
  }
  return r;
}

}  // namespace cardfs::measure
