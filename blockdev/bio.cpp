#include "blockdev/bio.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <string>

namespace cardfs::blockdev {

namespace {

// The thread's own identity, read once: /proc is far too slow for every bio.
struct ThreadIdentity {
  pid_t tid = 0;
  std::array<char, 16> name{};
};
thread_local ThreadIdentity t_self;
thread_local pid_t t_requester = 0;

const ThreadIdentity& self() {
  if (t_self.tid == 0) {
    t_self.tid = static_cast<pid_t>(::syscall(SYS_gettid));
    std::ifstream comm("/proc/self/task/" + std::to_string(t_self.tid) + "/comm");
    std::string s;
    std::getline(comm, s);
    std::memcpy(t_self.name.data(), s.data(), std::min(s.size(), t_self.name.size() - 1));
  }
  return t_self;
}

}  // namespace

void set_submitter_from_current_thread(Bio& bio) {
  if (t_requester != 0) {
    bio.pid = t_requester;
    bio.comm = {};  // resolved by the tracer, only when a trace runs
    return;
  }
  const ThreadIdentity& me = self();
  bio.pid = me.tid;
  bio.comm = me.name;
}

RequesterScope::RequesterScope(pid_t pid) : saved_(t_requester) {
  if (pid > 0) t_requester = pid;
}

RequesterScope::~RequesterScope() { t_requester = saved_; }

std::string kernel_thread_name(KernelThread which) {
  if (which == KernelThread::kJournal) return "jbd2/mmcblk0-8";
  const long cpus = std::max(1L, ::sysconf(_SC_NPROCESSORS_CONF));
  return "kworker/u" + std::to_string(2 * cpus) + ":0";
}

void set_thread_trace_name(const std::string& name) {
  const std::string cut = name.substr(0, 15);  // a task's comm: 15 characters
  self();  // the tid
  t_self.name = {};
  std::memcpy(t_self.name.data(), cut.data(), cut.size());
}

}  // namespace cardfs::blockdev
