#include "tools/crashtest/run.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include "tools/crashtest/rebuild.h"
#include "tools/workload/process.h"

namespace cardfs::crashtest {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;
using Steady = std::chrono::steady_clock;

bool exists(const std::string& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

Result<std::string> work_dir_of(const RunOptions& o) {
  if (!o.work_dir.empty()) {
    std::error_code ec;
    fs::create_directories(o.work_dir, ec);
    if (ec) return Status::error(ec.value(), "creating " + o.work_dir + ": " + ec.message());
    return fs::absolute(o.work_dir, ec).string();
  }
  const char* tmp = getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/cardfs-crashtest.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return Status::error(errno, "making a directory like " + tmpl);
  return tmpl;
}

workload::CardSpec spec_in(const RunOptions& o, const std::string& dir) {
  workload::CardSpec s{o.cardfs, o.fs, o.profile, o.size_bytes, dir};
  s.mkfs_args = o.mkfs_args;
  s.mount_options = o.mount_options;
  return s;
}

// Runs `argv` in the mount (bounded), output to `out`; its exit status.
Result<int> run_in_mount(const std::vector<std::string>& argv, workload::FsOnCard& card, const std::string& out,
                         seconds timeout) {
  workload::SpawnOptions s;
  s.cwd = card.mount_point();
  s.env = {{"CARDFS_MNT", card.mount_point()}, {"CARDFS_MARK", card.mark_file()}};
  s.stdout_path = s.stderr_path = out;
  CARDFS_ASSIGN_OR_RETURN(pid_t pid, workload::spawn(argv, s));
  Result<int> rc = workload::wait_for(pid, timeout);
  if (!rc.is_ok() && rc.status().code() == ETIMEDOUT) {
    workload::terminate(pid, seconds(2));
    return Status::error(ETIMEDOUT, "still running after " + std::to_string(timeout.count()) + " s");
  }
  return rc;
}

// mkfs (+ setup), the snapshot, then the workload with the card recorded.
Result<int> record(const RunOptions& o, const std::string& dir) {
  auto say = [&](const std::string& s) { if (o.progress) o.progress(s); };
  const workload::CardSpec spec = spec_in(o, dir);
  say("making " + o.fs + " on a " + o.profile + " card");
  CARDFS_ASSIGN_OR_RETURN(std::unique_ptr<workload::FsOnCard> card, workload::FsOnCard::make(spec));
  if (!o.setup.empty()) {
    say("running the setup");
    CARDFS_RETURN_IF_ERROR(card->mount());
    Result<int> rc = run_in_mount({"sh", "-c", o.setup}, *card, dir + "/setup.out", o.workload_timeout);
    CARDFS_RETURN_IF_ERROR(card->unmount());
    if (!rc.is_ok()) return rc.status().with_context("--setup");
    if (*rc != 0) return Status::error(EINVAL, "--setup exited with " + std::to_string(*rc) + " (" + dir + "/setup.out)");
  }
  CARDFS_RETURN_IF_ERROR(copy_image(card->image(), dir + "/snapshot.img"));
  say("running the workload, recording the card's commands");
  CARDFS_RETURN_IF_ERROR(card->mount("", dir + "/log"));
  Result<int> rc = run_in_mount(o.workload, *card, dir + "/workload.out", o.workload_timeout);
  Status down = card->unmount();
  CARDFS_RETURN_IF_ERROR(down);
  if (!rc.is_ok()) return rc.status().with_context("the workload");
  return *rc;
}

// Enough room on the host for one more state: the snapshot's allocated
// size and 64 MiB for the mount's own files.
Status room_for_state(const std::string& dir, const std::string& snapshot) {
  struct stat st;
  struct statvfs vfs;
  if (::stat(snapshot.c_str(), &st) != 0 || ::statvfs(dir.c_str(), &vfs) != 0)
    return Status::error(errno, "reading the free space of " + dir);
  const uint64_t need = uint64_t(st.st_blocks) * 512 + (64ull << 20);
  const uint64_t free = uint64_t(vfs.f_bavail) * vfs.f_frsize;
  if (free < need)
    return Status::error(ENOSPC, "the host's disk is full (" + std::to_string(free >> 20) + " MiB free under " + dir +
                                     ", a state needs " + std::to_string(need >> 20) + " MiB)");
  return Status::ok();
}

std::string describe(const blockdev::LoggedCommand& c) {
  switch (c.kind) {
    case sdcard::CommandKind::kRead: return "read " + std::to_string(c.sector) + "+" + std::to_string(c.sectors);
    case sdcard::CommandKind::kWrite:
      return "write " + std::to_string(c.sector) + "+" + std::to_string(c.sectors) + (c.fua ? " FUA" : "");
    case sdcard::CommandKind::kFlush: return "flush";
    case sdcard::CommandKind::kDiscard: return "discard " + std::to_string(c.sector) + "+" + std::to_string(c.sectors);
  }
  return "?";
}

// Where the cut falls in the log: time, command, the last markers before.
void place(StateResult& r, const blockdev::CommandLogReader& log) {
  const auto& cmds = log.commands();
  const uint64_t after = r.state.all ? cmds.size() : std::min<uint64_t>(r.state.after, cmds.size());
  std::vector<std::string> marks;
  for (uint64_t i = 0; i <= after && i < cmds.size(); ++i)
    marks.insert(marks.end(), cmds[i].marks_before.begin(), cmds[i].marks_before.end());
  if (after >= cmds.size()) marks.insert(marks.end(), log.trailing_marks().begin(), log.trailing_marks().end());
  const size_t keep = std::min<size_t>(marks.size(), 3);
  r.marks_before.assign(marks.end() - long(keep), marks.end());
  if (after < cmds.size()) {
    r.time_ns = cmds[after].time_ns;
    r.cut_command = (r.state.torn ? "in " : "before ") + describe(cmds[after]);
  } else if (!cmds.empty()) {
    r.time_ns = cmds.back().time_ns;
    r.cut_command = r.state.all ? "clean power-off after the last" : "after the last command";
  }
}

}  // namespace

uint64_t RunResult::failed() const {
  uint64_t n = 0;
  for (const StateResult& s : states) n += s.judged && s.verdict.outcome != Outcome::kPass;
  return n;
}

uint64_t RunResult::judged() const {
  uint64_t n = 0;
  for (const StateResult& s : states) n += s.judged;
  return n;
}

// 'text' for sh: a single quote becomes '\''.
std::string sh_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string rebuild_command(const RunOptions& o, const std::string& work_dir, const std::string& key) {
  std::string cmd = "cardfs crashtest --keep " + sh_quote(work_dir) + " --only " + key + " --fs " + o.fs;
  if (!o.mkfs_args.empty()) {
    std::string m;
    for (const std::string& a : o.mkfs_args) m += (m.empty() ? "" : " ") + a;
    cmd += " --mkfs=" + sh_quote(m);
  }
  if (!o.mount_options.empty()) cmd += " --mount-options " + sh_quote(o.mount_options);
  cmd += " --check " + sh_quote(o.check) + " --";
  for (const std::string& a : o.workload) cmd += " " + sh_quote(a);
  return cmd;
}

Result<RunResult> run_crashtest(const RunOptions& o) {
  auto say = [&](const std::string& s) { if (o.progress) o.progress(s); };
  RunResult r;
  CARDFS_RETURN_IF_ERROR(workload::check_fs_tools(o.fs));  // before anything is recorded
  CARDFS_ASSIGN_OR_RETURN(r.work_dir, work_dir_of(o));
  const std::string rec = r.work_dir + "/recording";
  r.reused_recording = exists(rec + "/snapshot.img") && exists(rec + "/log.blktrace.0");
  if (r.reused_recording) {
    say("judging the recording in " + rec + " (the workload is not run again)");
  } else {
    if (!o.only.empty()) return Status::error(EINVAL, "--only needs --keep DIR with a recording in it");
    std::error_code ec;
    fs::create_directories(rec, ec);
    CARDFS_ASSIGN_OR_RETURN(r.workload_exit, record(o, rec));
  }
  CARDFS_ASSIGN_OR_RETURN(std::unique_ptr<blockdev::CommandLogReader> log,
                          blockdev::CommandLogReader::open(rec + "/log"));
  r.commands = log->commands().size();
  for (const auto& c : log->commands()) r.marks += c.marks_before.size();
  r.marks += log->trailing_marks().size();
  std::vector<CrashState> states;
  if (!o.only.empty()) {
    CARDFS_ASSIGN_OR_RETURN(CrashState only, CrashState::parse(o.only));
    states.push_back(only);
  } else {
    states = plan_states(log->commands(), o.plan);
  }
  r.states.resize(states.size());
  for (size_t i = 0; i < states.size(); ++i) {
    r.states[i].state = states[i];
    place(r.states[i], *log);
  }
  say(std::to_string(r.commands) + " card commands recorded; judging " + std::to_string(states.size()) + " states");
  std::mutex mu;
  std::atomic<size_t> next{0};
  size_t kept_index = SIZE_MAX;  // mu
  const auto start = Steady::now();
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < states.size();) {
      {
        std::lock_guard lock(mu);
        if (!r.stopped.empty()) return;
      }
      const std::string dir = r.work_dir + "/states/" + states[i].key();
      std::error_code ec;
      fs::remove_all(dir, ec);
      fs::create_directories(dir, ec);
      Status st = room_for_state(r.work_dir, rec + "/snapshot.img");
      if (st.is_ok()) st = rebuild_state(rec + "/snapshot.img", log->commands(), states[i], dir + "/card.img");
      if (!st.is_ok()) {
        std::lock_guard lock(mu);
        if (r.stopped.empty())
          r.stopped = st.code() == ENOSPC ? st.message() : "rebuilding state " + states[i].key() + ": " + st.message();
        fs::remove_all(dir, ec);
        return;
      }
      JudgeOptions j{spec_in(o, dir), o.check, o.timeout};
      {
        std::lock_guard lock(mu);
        if (!r.states[i].marks_before.empty()) j.last_mark = r.states[i].marks_before.back();
      }
      j.journal = std::none_of(o.mkfs_args.begin(), o.mkfs_args.end(),
                               [](const std::string& a) { return a.find("^journal") != std::string::npos; });
      Verdict v = judge_state(j);
      std::lock_guard lock(mu);
      r.states[i].verdict = std::move(v);
      r.states[i].judged = true;
      const bool failed = r.states[i].verdict.outcome != Outcome::kPass;
      say("state " + states[i].key() + ": " + outcome_name(r.states[i].verdict.outcome));
      if (failed && i < kept_index) kept_index = i;
      if (o.only.empty()) fs::remove_all(dir, ec);  // --only keeps its state's directory
    }
  };
  std::vector<std::thread> pool;
  for (unsigned k = 0; k < std::max(1u, o.jobs); ++k) pool.emplace_back(worker);
  for (std::thread& t : pool) t.join();
  r.judge_seconds = std::chrono::duration<double>(Steady::now() - start).count();
  // The images kept are rebuilt once more, as the power cut left them
  // (judging changed them: fsck, mount): what inspect and fsck should see.
  if (kept_index != SIZE_MAX) {
    r.first_failure = states[kept_index].key();
    const std::string keep = r.work_dir + (o.only.empty() ? "/first-failure" : "/states/" + r.first_failure);
    std::error_code ec;
    fs::create_directories(keep, ec);
    fs::remove(keep + "/crash.img", ec);
    CARDFS_RETURN_IF_ERROR(rebuild_state(rec + "/snapshot.img", log->commands(), states[kept_index], keep + "/crash.img"));
    r.first_failure_image = keep + "/crash.img";
  } else if (!o.only.empty() && r.states.front().judged) {
    const std::string img = r.work_dir + "/states/" + states.front().key() + "/crash.img";
    std::error_code ec;
    fs::remove(img, ec);
    CARDFS_RETURN_IF_ERROR(rebuild_state(rec + "/snapshot.img", log->commands(), states.front(), img));
  }
  return r;
}

}  // namespace cardfs::crashtest
