#include "tools/workload/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace cardfs::workload {
namespace {

std::string joined(const std::vector<std::string>& argv) {
  std::string s;
  for (const std::string& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

// The last few lines of a file, on one line (for an error message).
std::string tail_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) lines.push_back(l);
  std::string out;
  for (size_t i = lines.size() > 3 ? lines.size() - 3 : 0; i < lines.size(); ++i)
    out += (out.empty() ? "" : "; ") + lines[i];
  return out;
}

std::vector<std::string> environment_with(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv = *e;
    if (!extra.contains(kv.substr(0, kv.find('=')))) env.push_back(kv);
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

// A temporary file for a child's stderr, under TMPDIR.
std::string scratch_file() {
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir && *dir ? dir : "/tmp") + "/cardfs-run.XXXXXX";
  const int fd = ::mkstemp(path.data());
  if (fd < 0) return "";
  ::close(fd);
  return path;
}

}  // namespace

Result<pid_t> spawn(const std::vector<std::string>& argv, const SpawnOptions& o) {
  if (argv.empty()) return Status::error(EINVAL, "no command");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (!o.inherit_output) {
    const std::string out = o.stdout_path.empty() ? "/dev/null" : o.stdout_path;
    const std::string err = o.stderr_path.empty() ? "/dev/null" : o.stderr_path;
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  }
  if (!o.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, o.cwd.c_str());
  std::vector<std::string> env = environment_with(o.env);
  std::vector<char*> cargv, cenv;
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (std::string& e : env) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  if (o.own_process_group) {
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
  }
  pid_t pid = 0;
  const int err = posix_spawnp(&pid, argv[0].c_str(), &fa, &attr, cargv.data(), cenv.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  if (err != 0) return Status::error(err, "cannot run " + argv[0] + ": " + std::strerror(err));
  return pid;
}

Result<int> wait_for(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0 && errno != EINTR) return Status::error(errno, "waiting for process " + std::to_string(pid));
    if (std::chrono::steady_clock::now() >= deadline)
      return Status::error(ETIMEDOUT, "process " + std::to_string(pid) + " still running");
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

void terminate(pid_t pid, std::chrono::milliseconds grace) {
  if (pid <= 0) return;
  // A group leader (SpawnOptions::own_process_group) takes its group along:
  // a shell's children (a CHECK's `sleep`) would otherwise outlive it, in
  // the mount they keep busy.
  const bool group = ::getpgid(pid) == pid;
  const pid_t target = group ? -pid : pid;
  ::kill(target, SIGTERM);
  if (wait_for(pid, grace).is_ok()) {
    if (group) ::kill(target, SIGKILL);  // members that ignored SIGTERM (ESRCH when none is left)
    return;
  }
  ::kill(target, SIGKILL);
  (void)wait_for(pid, std::chrono::seconds(10));
}

Status run(const std::vector<std::string>& argv, std::chrono::seconds timeout, const SpawnOptions& o) {
  SpawnOptions opts = o;
  std::string err_file;
  if (!opts.inherit_output && opts.stderr_path.empty()) opts.stderr_path = err_file = scratch_file();
  Result<pid_t> pid = spawn(argv, opts);
  if (!pid.is_ok()) {
    if (!err_file.empty()) std::filesystem::remove(err_file);
    return pid.status();
  }
  Result<int> rc = wait_for(*pid, timeout);
  if (!rc.is_ok()) terminate(*pid);
  const std::string said = err_file.empty() ? "" : tail_of(err_file);
  if (!err_file.empty()) std::filesystem::remove(err_file);
  if (!rc.is_ok())
    return Status::error(ETIMEDOUT, "`" + joined(argv) + "` took longer than " + std::to_string(timeout.count()) + " s");
  if (*rc != 0)
    return Status::error(EIO, "`" + joined(argv) + "` exited with " + std::to_string(*rc) + (said.empty() ? "" : ": " + said));
  return Status::ok();
}

Result<std::string> run_output(const std::vector<std::string>& argv, std::chrono::seconds timeout) {
  SpawnOptions o;
  o.stdout_path = scratch_file();
  Status st = run(argv, timeout, o);
  std::ifstream in(o.stdout_path);
  std::stringstream text;
  text << in.rdbuf();
  std::filesystem::remove(o.stdout_path);
  if (!st.is_ok()) return st;
  return text.str();
}

std::optional<std::string> find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = std::string(path ? path : "") + ":/usr/sbin:/sbin:/usr/bin:/bin";
  std::stringstream ss(dirs);
  for (std::string d; std::getline(ss, d, ':');) {
    if (d.empty()) continue;
    const std::string p = d + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return std::nullopt;
}

}  // namespace cardfs::workload
