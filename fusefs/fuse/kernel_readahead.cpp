#include "fusefs/fuse/kernel_readahead.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "base/mount_field.h"

namespace cardfs::fuse {

Result<std::string> mount_device(const std::string& mountinfo, const std::string& mountpoint) {
  std::istringstream lines(mountinfo);
  std::string line, found;
  while (std::getline(lines, line)) {
    // id parent major:minor root mountpoint ...
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    if (!(fields >> id >> parent >> dev >> root >> point)) continue;
    if (unescape_mount_field(point) == mountpoint) found = dev;
  }
  if (found.empty()) return Status::error(ENOENT, "no mount on " + mountpoint + " in mountinfo");
  return found;
}

Result<std::string> resolve_mountpoint(const std::string& mountpoint) {
  char* real = ::realpath(mountpoint.c_str(), nullptr);
  if (real == nullptr) return Status::error(errno, "resolving " + mountpoint + ": " + std::strerror(errno));
  std::string path(real);
  std::free(real);
  return path;
}

Status set_kernel_read_ahead(const std::string& path, uint32_t kb) {
  std::ifstream info("/proc/self/mountinfo");
  std::stringstream text;
  text << info.rdbuf();
  CARDFS_ASSIGN_OR_RETURN(std::string dev, mount_device(text.str(), path));
  const std::string attr = "/sys/class/bdi/" + dev + "/read_ahead_kb";
  std::ofstream out(attr);
  out << kb << '\n';
  out.flush();
  if (!out) return Status::error(EACCES, "cannot write " + attr + " (needs root)");
  return Status::ok();
}

}  // namespace cardfs::fuse
