// Is a card image in use? /proc/mounts naming it, or the exclusive flock
// a mounting daemon holds on it (fusefs/fuse/image_lock.h).
#pragma once

#include <string>

#include "base/status.h"

namespace cardfs::fsck {

// True when /proc/mounts (or `mounts_file`) lists `image` as a source.
bool listed_as_mounted(const std::string& image, const std::string& mounts_file = "/proc/mounts");

// Holds an exclusive flock on the image while fsck repairs it, so no mount
// starts meanwhile. EBUSY at once when a daemon holds it.
class ImageGuard {
 public:
  static Result<ImageGuard> take(const std::string& image);
  ImageGuard(ImageGuard&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  ImageGuard(const ImageGuard&) = delete;
  ImageGuard& operator=(const ImageGuard&) = delete;
  ImageGuard& operator=(ImageGuard&&) = delete;
  ~ImageGuard();

 private:
  explicit ImageGuard(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace cardfs::fsck
