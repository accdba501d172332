#include "fusefs/fuse/kernel_readahead.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace cardfs::fuse {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      const std::string oct = field.substr(i + 1, 3);
      if (oct.find_first_not_of("01234567") == std::string::npos) {
        out.push_back(char(std::strtol(oct.c_str(), nullptr, 8)));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

}  // namespace

Result<std::string> mount_device(const std::string& mountinfo, const std::string& mountpoint) {
  std::istringstream lines(mountinfo);
  std::string line, found;
  while (std::getline(lines, line)) {
    // id parent major:minor root mountpoint ...
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    if (!(fields >> id >> parent >> dev >> root >> point)) continue;
    if (unescape(point) == mountpoint) found = dev;
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
