// ImageLock: an exclusive flock(2) on a card image, held for as long as a
// daemon has the image mounted, so two daemons never mount it at once.
//
// Contract
// - acquire() opens the image read-only just to hold the lock (the card
//   opens its own descriptor) and takes LOCK_EX|LOCK_NB: it fails at once
//   with EBUSY when another process holds it, never waits.
// - flock locks belong to the open file description: they survive fork()
//   and are released when the last descriptor closes, also on kill -9.
// - Movable, not copyable; the destructor releases the lock.
#pragma once

#include <string>

#include "base/status.h"

namespace cardfs::fuse {

class ImageLock {
 public:
  static Result<ImageLock> acquire(const std::string& image_path);

  ImageLock(ImageLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  ImageLock& operator=(ImageLock&& other) noexcept;
  ImageLock(const ImageLock&) = delete;
  ImageLock& operator=(const ImageLock&) = delete;
  ~ImageLock();

  bool held() const { return fd_ >= 0; }

 private:
  explicit ImageLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace cardfs::fuse
