#include "tools/fsck/mounted.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace cardfs::fsck {

namespace {

// /proc/mounts escapes space, tab, newline and backslash as \ooo.
std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = 0;
      bool ok = true;
      for (size_t k = 1; k <= 3 && ok; ++k) {
        char c = i + k < s.size() ? s[i + k] : 'x';
        ok = c >= '0' && c <= '7';
        v = v * 8 + (c - '0');
      }
      if (ok) {
        out += char(v);
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

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
    source = unescape(source);
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
