#include "fusefs/fuse/image_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>

namespace cardfs::fuse {

Result<ImageLock> ImageLock::acquire(const std::string& image_path) {
  int fd = ::open(image_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::error(errno, "opening " + image_path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK)
      return Status::error(EBUSY, image_path + " is already mounted by another cardfs daemon");
    return Status::error(err, "locking " + image_path + ": " + std::strerror(err));
  }
  return ImageLock(fd);
}

ImageLock& ImageLock::operator=(ImageLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

ImageLock::~ImageLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace cardfs::fuse
