// IovCursor: walks a command's host segments as one byte stream
// (internal to sdcard/).
#pragma once

#include <sys/uio.h>

#include <algorithm>
#include <cstddef>
#include <span>

#include "base/status.h"

namespace cardfs::sdcard {

// Walks the host's segments as one byte stream.
class IovCursor {
 public:
  explicit IovCursor(std::span<const iovec> segs) : segs_(segs) {}
  template <typename Fn>  // fn(char* host, size_t n) over the next n bytes
  void walk(size_t n, Fn&& fn) {
    while (n > 0) {
      const iovec& v = segs_[idx_];
      size_t take = std::min(n, v.iov_len - off_);
      fn(static_cast<char*>(v.iov_base) + off_, take);
      n -= take;
      off_ += take;
      if (off_ == v.iov_len) {
        ++idx_;
        off_ = 0;
      }
    }
  }
  // The next n bytes if they lie in one segment (and steps over them),
  // else nullptr.
  const std::byte* take_contiguous(size_t n) {
    const iovec& v = segs_[idx_];
    if (v.iov_len - off_ < n) return nullptr;
    const auto* p = static_cast<const std::byte*>(v.iov_base) + off_;
    walk(n, [](char*, size_t) {});
    return p;
  }

 private:
  std::span<const iovec> segs_;
  size_t idx_ = 0, off_ = 0;
};

// The bytes the segments hold; EINVAL unless each is a multiple of 512.
Result<uint64_t> segment_bytes(std::span<const iovec> segs);

}  // namespace cardfs::sdcard
