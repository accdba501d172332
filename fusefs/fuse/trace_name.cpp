#include "fusefs/fuse/trace_name.h"

#include <unistd.h>

#include <climits>

namespace cardfs::fuse {

namespace {

Result<std::string> cwd_of(pid_t pid) {
  if (pid <= 0) return Status::error(EINVAL, "the writer's process is unknown");
  const std::string link = "/proc/" + std::to_string(pid) + "/cwd";
  char buf[PATH_MAX];
  const ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
  if (n <= 0) return Status::error(errno ? errno : ENOENT, "reading " + link);
  return std::string(buf, size_t(n));
}

bool inside(const std::string& path, const std::string& dir) {
  if (dir.empty() || path.compare(0, dir.size(), dir) != 0) return false;
  return path.size() == dir.size() || path[dir.size()] == '/' || dir == "/";
}

}  // namespace

Result<std::string> resolve_trace_name(const std::string& name, pid_t writer, const std::string& mountpoint) {
  if (name.empty()) return Status::error(EINVAL, "write 'start NAME'");
  std::string path = name;
  if (name[0] != '/') {
    auto cwd = cwd_of(writer);
    if (!cwd.is_ok())
      return Status::error(EINVAL, "'" + name + "' is relative and " + cwd.status().message() +
                                       ": give an absolute path");
    path = (*cwd == "/" ? "" : *cwd) + "/" + name;
  }
  if (inside(path, mountpoint))
    return Status::error(EINVAL, path + " is inside the traced mount " + mountpoint +
                                     ": trace files must go elsewhere (e.g. start /tmp/" + name + ")");
  return path;
}

}  // namespace cardfs::fuse
