#include "tools/fsck/mounted.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/mount_field.h"

namespace cardfs::fsck {

namespace {

std::string canonical(const std::string& p) {
  std::error_code ec;
  auto c = std::filesystem::weakly_canonical(p, ec);
  return ec ? p : c.string();
}

}  // namespace

bool listed_as_mounted(const std::string& image, const std::string& mounts_file) {
  std::ifstream in(mounts_file);
  const std::string want = canonical(image);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string source;
    fields >> source;
    source = unescape_mount_field(source);
    if (!source.empty() && source[0] == '/' && canonical(source) == want) return true;
  }
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
