// `cardfs crashtest`: record a workload's card commands once, then judge
// the crash states a power cut could leave (docs/crashtest.md).
//
// Layout of the work directory (--keep DIR, else a temporary one, kept
// when a state failed):
//   recording/card.img      the card the workload ran on (its state after the unmount)
//   recording/snapshot.img  the fresh card, after mkfs and --setup
//   recording/log.blktrace.0  every card command of the run, with its data
//   recording/workload.out  what the workload printed
//   states/KEY/             a state being judged: card.img, mnt/, check.out, fsck output
//   first-failure/crash.img the first failing state (by position in the
//                           log), as the power cut left it (before recovery);
//                           with --only: states/KEY/crash.img
//   report.md, report.json
// A work directory that already holds a recording is judged again without
// running the workload (how --only rebuilds one state).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "tools/crashtest/judge.h"
#include "tools/crashtest/plan.h"

namespace cardfs::crashtest {

struct RunOptions {
  std::string cardfs;  // the cardfs binary
  std::string fs = "cardfs";
  std::string profile = "class10";
  uint64_t size_bytes = 256ull << 20;
  std::vector<std::string> mkfs_args;
  std::string mount_options;
  PlanOptions plan;
  unsigned jobs = 1;
  std::string work_dir;  // empty: a temporary directory
  bool keep = false;     // --keep: the work directory stays
  std::string setup;     // sh -c, in the mount, before the snapshot
  std::string only;      // one state's key
  std::string check;
  std::vector<std::string> workload;
  std::chrono::seconds timeout{120};           // per state
  std::chrono::seconds workload_timeout{3600};
  std::function<void(const std::string&)> progress;
};

struct StateResult {
  CrashState state;
  Verdict verdict;
  bool judged = false;
  uint64_t time_ns = 0;                 // the card's clock at the cut
  std::string cut_command;              // "W 2048+64 FUA", the command the cut fell before or in
  std::vector<std::string> marks_before;  // the last markers written before the cut
};

struct RunResult {
  std::string work_dir;
  uint64_t commands = 0;
  uint64_t marks = 0;
  int workload_exit = 0;
  bool reused_recording = false;
  std::vector<StateResult> states;  // in plan order
  std::string stopped;              // why the run stopped early ("" if it did not)
  std::string first_failure;        // its key ("" if none)
  std::string first_failure_image;
  double judge_seconds = 0;         // wall time judging states
  uint64_t failed() const;
  uint64_t judged() const;
};

Result<RunResult> run_crashtest(const RunOptions& o);

// `text` quoted for sh.
std::string sh_quote(const std::string& text);
// The command line that judges `key` again from the kept recording.
std::string rebuild_command(const RunOptions& o, const std::string& work_dir, const std::string& key);

}  // namespace cardfs::crashtest
