#include "base/image_claim.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/mount_table.h"

namespace cardfs {
namespace {

std::string canonical(const std::string& p) {
  std::error_code ec;
  auto c = std::filesystem::weakly_canonical(p, ec);
  return ec ? p : c.string();
}

// The pid holding a flock on the file (from /proc/locks), or 0.
long lock_holder(const std::string& image) {
  struct stat st;
  if (::stat(image.c_str(), &st) != 0) return 0;
  char want[64];
  std::snprintf(want, sizeof want, "%02x:%02x:%llu", major(st.st_dev), minor(st.st_dev),
                (unsigned long long)st.st_ino);
  std::ifstream in("/proc/locks");
  std::string line;
  while (std::getline(in, line)) {
    // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"
    std::istringstream f(line);
    std::string num, kind, advisory, mode, pid, id;
    f >> num >> kind;
    if (kind == "->") f >> kind;  // a waiter
    f >> advisory >> mode >> pid >> id;
    if (kind == "FLOCK" && id == want) return std::atol(pid.c_str());
  }
  return 0;
}

}  // namespace

Result<ImageClaim> ImageClaim::take(const std::string& image_path) {
  int fd = ::open(image_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::error(errno, "opening " + image_path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return Status::error(EBUSY, image_path + " is in use: " + image_holder(image_path));
    return Status::error(err, "locking " + image_path + ": " + std::strerror(err));
  }
  // Listed as a mount's source but unlocked: a daemon that lost its lock,
  // or a mount by other means; the image is in use all the same.
  if (std::string dir = mount_point_of(image_path); !dir.empty()) {
    ::close(fd);
    return Status::error(EBUSY, image_path + " is in use: mounted on " + dir);
  }
  return ImageClaim(fd);
}

Result<ImageClaim> ImageClaim::take_or_refuse(const std::string& image_path, const std::string& refusal) {
  Result<ImageClaim> claim = take(image_path);
  if (claim.is_ok() || claim.status().code() != EBUSY) return claim;
  return Status::error(EBUSY, claim.status().message() + "; " + refusal);
}

ImageClaim& ImageClaim::operator=(ImageClaim&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

ImageClaim::~ImageClaim() {
  if (fd_ >= 0) ::close(fd_);
}

std::string mount_point_of(const std::string& image, const std::string& mounts_file) {
  auto table = read_mount_table(mounts_file);
  if (!table.is_ok()) return "";  // no table to read: nothing is listed
  const std::string want = canonical(image);
  for (const MountEntry& e : *table)
    if (!e.source.empty() && e.source[0] == '/' && canonical(e.source) == want) return e.target;
  return "";
}

std::string image_holder(const std::string& image) {
  if (std::string dir = mount_point_of(image); !dir.empty()) return "mounted on " + dir + " by a cardfs daemon";
  if (long pid = lock_holder(image); pid > 0) return "held by process " + std::to_string(pid) + " (a cardfs daemon or tool)";
  return "held by another cardfs daemon or tool";
}

}  // namespace cardfs
