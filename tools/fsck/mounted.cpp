#include "tools/fsck/mounted.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "base/mount_table.h"

namespace cardfs::fsck {

namespace {

std::string canonical(const std::string& p) {
  std::error_code ec;
  auto c = std::filesystem::weakly_canonical(p, ec);
  return ec ? p : c.string();
}

}  // namespace

bool listed_as_mounted(const std::string& image, const std::string& mounts_file) {
  auto table = read_mount_table(mounts_file);
  if (!table.is_ok()) return false;  // no table to read: nothing is listed
  const std::string want = canonical(image);
  for (const MountEntry& e : *table)
    if (!e.source.empty() && e.source[0] == '/' && canonical(e.source) == want) return true;
  return false;
}

Result<ImageGuard> ImageGuard::take(const std::string& image) {
  int fd = ::open(image.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::error(errno, image + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return Status::error(EBUSY, image + " is in use (mounted by a cardfs daemon)");
    return Status::error(err, image + ": flock: " + std::strerror(err));
  }
  return ImageGuard(fd);
}

ImageGuard::~ImageGuard() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace cardfs::fsck
