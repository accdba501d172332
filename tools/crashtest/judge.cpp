#include "tools/crashtest/judge.h"

#include <fstream>
#include <map>
#include <sstream>

#include "tools/workload/process.h"

namespace cardfs::crashtest {
namespace {

using std::chrono::seconds;

std::string tail_of(const std::string& path, size_t max = 4096) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  return text.size() > max ? "…" + text.substr(text.size() - max) : text;
}

// Runs argv (bounded), its output to `out`; the exit status, or ETIMEDOUT.
Result<int> run_logged(const std::vector<std::string>& argv, const std::string& cwd, const std::string& out,
                       seconds timeout, std::map<std::string, std::string> env = {}) {
  workload::SpawnOptions s;
  s.cwd = cwd;
  s.env = std::move(env);
  s.stdout_path = s.stderr_path = out;
  s.own_process_group = true;
  CARDFS_ASSIGN_OR_RETURN(pid_t pid, workload::spawn(argv, s));
  Result<int> rc = workload::wait_for(pid, timeout);
  if (!rc.is_ok() && rc.status().code() == ETIMEDOUT) workload::terminate(pid, seconds(2));
  return rc;
}

Verdict error(Outcome o, const std::string& detail) {
  Verdict v;
  v.outcome = o;
  v.detail = detail;
  return v;
}

// cardfs's fsck: -p before a journal-less mount, -n after the unmount.
Result<int> fsck(const JudgeOptions& o, const char* mode, const std::string& out) {
  return run_logged({o.spec.cardfs, "fsck", mode, o.spec.dir + "/card.img"}, o.spec.dir, out, seconds(300));
}

// Mounted: CHECK, then the unmount.
void check_in_mount(const JudgeOptions& o, workload::FsOnCard& card, Verdict& v) {
  const std::string out = o.spec.dir + "/check.out";
  Result<int> rc = run_logged({"sh", "-c", o.check}, card.mount_point(), out, o.timeout,
                              {{"CARDFS_MNT", card.mount_point()}, {"CARDFS_LAST_MARK", o.last_mark}});
  v.check_output = tail_of(out);
  Status down = card.unmount();
  if (!rc.is_ok()) {
    v.outcome = rc.status().code() == ETIMEDOUT ? Outcome::kTimeout : Outcome::kError;
    v.detail = rc.status().code() == ETIMEDOUT ? "CHECK still ran after " + std::to_string(o.timeout.count()) + " s"
                                                : rc.status().message();
    return;
  }
  v.check_exit = *rc;
  v.outcome = *rc == 0 ? Outcome::kPass : Outcome::kCheckFailed;
  if (!down.is_ok()) {
    v.outcome = Outcome::kError;
    v.detail = "unmounting: " + down.message();
  }
}

std::string joined(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

// The boot-time repair before the mount, where the filesystem has one
// (workload::FsTools; cardfs -O ^journal: its fsck -p on the image). Its
// verdict goes into v.repair and v.repair_exit; false when it ends the
// state's judging (it failed to run, or exit 4 or more: it could not
// repair, the fsck convention e2fsck, fsck.exfat and fsck.cardfs share).
bool repair(const JudgeOptions& o, workload::FsOnCard& card, Verdict& v) {
  const bool cardfs = o.spec.fs == "cardfs";
  const std::vector<std::string> argv = cardfs ? std::vector<std::string>{} : workload::fs_tools(o.spec.fs).repair;
  if (cardfs ? o.journal : argv.empty()) return true;  // the mount recovers it
  const std::string out = o.spec.dir + "/repair.out";
  v.repair = cardfs ? "cardfs fsck -p" : joined(argv);
  Result<int> rc = cardfs ? fsck(o, "-p", out) : card.run_on_device(argv, out, seconds(300));
  if (!rc.is_ok()) {
    v = error(Outcome::kError, v.repair + ": " + rc.status().message());
    return false;
  }
  v.repair_exit = *rc;
  if (*rc < 4) return true;
  v.outcome = Outcome::kFsInconsistent;
  v.detail = v.repair + " could not repair it (exit " + std::to_string(*rc) + "):\n" + tail_of(out, 2048);
  return false;
}

// The filesystem's own checker, after the recovery and the unmount, on the
// state as CHECK left it: cardfs's fsck -n on the image; for the others
// their read-only checker on the card's device through the export
// (workload::FsTools: e2fsck -fn, -f since ext4 marks itself clean at the
// unmount; fsck.exfat -n; btrfs check --readonly; xfs_repair -n). Its
// verdict goes into v.fsck and v.fsck_exit; a filesystem it finds damaged
// fails a state CHECK passed.
void check_fs(const JudgeOptions& o, workload::FsOnCard& card, Verdict& v) {
  const bool cardfs = o.spec.fs == "cardfs";
  const std::vector<std::string> argv = cardfs ? std::vector<std::string>{} : workload::fs_tools(o.spec.fs).check;
  if (!cardfs && argv.empty()) return;  // no checker known for it
  const std::string out = o.spec.dir + "/fsck-n.out";
  v.fsck = cardfs ? "cardfs fsck -n" : joined(argv);
  Result<int> n = cardfs ? fsck(o, "-n", out) : card.run_on_device(argv, out, seconds(300));
  if (!n.is_ok()) {
    v.outcome = Outcome::kError;
    v.detail = v.fsck + ": " + n.status().message();
    return;
  }
  v.fsck_exit = *n;
  if (*n != 0 && v.outcome == Outcome::kPass) {
    v.outcome = Outcome::kFsInconsistent;
    v.detail = v.fsck + " after recovery (exit " + std::to_string(*n) + "):\n" + tail_of(out, 2048);
  }
}

}  // namespace

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kPass: return "pass";
    case Outcome::kCheckFailed: return "check failed";
    case Outcome::kFsInconsistent: return "filesystem inconsistent";
    case Outcome::kMountFailed: return "mount failed";
    case Outcome::kTimeout: return "timeout";
    case Outcome::kError: return "error";
  }
  return "?";
}

Verdict judge_state(const JudgeOptions& o) {
  Result<std::unique_ptr<workload::FsOnCard>> card = workload::FsOnCard::adopt(o.spec);
  if (!card.is_ok()) return error(Outcome::kError, card.status().message());
  Verdict v;
  if (!repair(o, **card, v)) return v;
  if (Status st = (*card)->mount(); !st.is_ok()) {
    v.outcome = Outcome::kMountFailed;
    v.detail = st.message();
    return v;
  }
  check_in_mount(o, **card, v);
  if (v.outcome != Outcome::kError && v.outcome != Outcome::kTimeout) check_fs(o, **card, v);
  card->reset();  // whatever a failure left mounted is taken down
  return v;
}

}  // namespace cardfs::crashtest
