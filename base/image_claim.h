// ImageClaim: the exclusive flock(2) that says "this process owns the card
// image". The mount daemon holds one for as long as it runs; every tool
// that opens an image read-write (mkfs, fsck -y/-p, inspect --write,
// card export and repair) takes one first, so nothing writes an image a
// daemon is serving and no mount starts while a tool writes.
//
// Contract
// - take() opens the image read-only just to hold the lock and takes
//   LOCK_EX|LOCK_NB: it never waits. When another process holds it, or
//   /proc/mounts lists the image as a mount's source, EBUSY with a message
//   naming the mount point or else the holder's pid (/proc/locks).
// - The lock belongs to the open file description: it survives fork() and
//   is released when the last descriptor closes, also on kill -9.
// - Movable, not copyable; the destructor releases the lock.
#pragma once

#include <string>

#include "base/status.h"

namespace cardfs {

class ImageClaim {
 public:
  static Result<ImageClaim> take(const std::string& image_path);
  // take(), whose EBUSY message ends with "; " + `refusal` (what the tool
  // will not do, e.g. "not exporting it"), for the tool's one-line error.
  static Result<ImageClaim> take_or_refuse(const std::string& image_path, const std::string& refusal);

  ImageClaim(ImageClaim&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  ImageClaim& operator=(ImageClaim&& other) noexcept;
  ImageClaim(const ImageClaim&) = delete;
  ImageClaim& operator=(const ImageClaim&) = delete;
  ~ImageClaim();

  bool held() const { return fd_ >= 0; }

 private:
  explicit ImageClaim(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Where `image` is mounted: the mount point of the first entry of the mount
// table (base/mount_table.h) whose source names it (after resolving
// symlinks), or "".
std::string mount_point_of(const std::string& image, const std::string& mounts_file = "/proc/self/mountinfo");

// "mounted on DIR", or "held by process PID", or "in use": who holds the
// image's lock, for messages.
std::string image_holder(const std::string& image);

}  // namespace cardfs
