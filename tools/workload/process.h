// Child processes with bounded waits: what a tool needs to drive mkfs,
// losetup, mount and a user's workload (tools/workload/).
//
// run() spawns argv (PATH searched), waits at most `timeout`, and on
// failure says which command failed and the last lines it printed on
// stderr. A child past its timeout is killed (SIGTERM, then SIGKILL).
// Never throws; thread-compatible (no shared state).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace cardfs::workload {

struct SpawnOptions {
  std::string cwd;                          // empty: this process's
  std::map<std::string, std::string> env;   // added to (or replacing in) this process's environment
  std::string stdout_path, stderr_path;     // empty: /dev/null (run() captures stderr itself)
  bool inherit_output = false;              // keep this process's stdout/stderr instead
  // In a process group of its own, so a ^C on the terminal (SIGINT to the
  // foreground group) does not reach it: helpers that must outlive the
  // interrupted workload long enough to be taken down in order.
  bool own_process_group = false;
};

// Starts argv; the child's pid.
Result<pid_t> spawn(const std::vector<std::string>& argv, const SpawnOptions& o = {});

// Waits for pid up to timeout; its exit status (128 + signal when killed
// by one). ETIMEDOUT when it is still running (it is left running).
Result<int> wait_for(pid_t pid, std::chrono::milliseconds timeout);

// Ends pid: SIGTERM, up to `grace`, then SIGKILL; reaps it. A process
// group leader (own_process_group) is ended with its whole group.
void terminate(pid_t pid, std::chrono::milliseconds grace = std::chrono::seconds(5));

// Runs argv to completion: OK when it exits 0, otherwise an error naming
// the command with the tail of its stderr.
Status run(const std::vector<std::string>& argv, std::chrono::seconds timeout, const SpawnOptions& o = {});

// The same, returning what it printed on stdout.
Result<std::string> run_output(const std::vector<std::string>& argv, std::chrono::seconds timeout);

// Whether `name` is an executable in PATH (or, for "/sbin"-style tools,
// in /sbin and /usr/sbin, which a user's PATH may lack).
std::optional<std::string> find_program(const std::string& name);

}  // namespace cardfs::workload
