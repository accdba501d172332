#include "blockdev/bio.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <string>

namespace cardfs::blockdev {

void set_submitter_from_current_thread(Bio& bio) {
  // Read once per thread: /proc is far too slow for every bio.
  thread_local pid_t tid = 0;
  thread_local std::array<char, 16> name{};
  if (tid == 0) {
    tid = static_cast<pid_t>(::syscall(SYS_gettid));
    std::ifstream comm("/proc/self/task/" + std::to_string(tid) + "/comm");
    std::string s;
    std::getline(comm, s);
    std::memcpy(name.data(), s.data(), std::min(s.size(), name.size() - 1));
  }
  bio.pid = tid;
  bio.comm = name;
}

}  // namespace cardfs::blockdev
