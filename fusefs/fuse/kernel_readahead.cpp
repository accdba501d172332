#include "fusefs/fuse/kernel_readahead.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

#include "base/mount_table.h"

namespace cardfs::fuse {

namespace {

Result<std::string> device_of(const std::vector<MountEntry>& table, const std::string& mountpoint) {
  std::string found;
  for (const MountEntry& e : table)
    if (e.target == mountpoint && !e.devno.empty()) found = e.devno;
  if (found.empty()) return Status::error(ENOENT, "no mount on " + mountpoint + " in mountinfo");
  return found;
}

}  // namespace

Result<std::string> mount_device(const std::string& mountinfo, const std::string& mountpoint) {
  CARDFS_ASSIGN_OR_RETURN(std::vector<MountEntry> table, parse_mount_table(mountinfo));
  return device_of(table, mountpoint);
}

Result<std::string> resolve_mountpoint(const std::string& mountpoint) {
  char* real = ::realpath(mountpoint.c_str(), nullptr);
  if (real == nullptr) return Status::error(errno, "resolving " + mountpoint + ": " + std::strerror(errno));
  std::string path(real);
  std::free(real);
  return path;
}

Status set_kernel_read_ahead(const std::string& path, uint32_t kb) {
  CARDFS_ASSIGN_OR_RETURN(std::vector<MountEntry> table, read_mount_table());
  CARDFS_ASSIGN_OR_RETURN(std::string dev, device_of(table, path));
  const std::string attr = "/sys/class/bdi/" + dev + "/read_ahead_kb";
  std::ofstream out(attr);
  out << kb << '\n';
  out.flush();
  if (!out) return Status::error(EACCES, "cannot write " + attr + " (needs root)");
  return Status::ok();
}

}  // namespace cardfs::fuse
