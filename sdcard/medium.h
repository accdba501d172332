// Medium: the bytes an image-format page store keeps its card in — the
// image file (ImageFile, io_uring) or memory (MemoryMedium, for tests).
//
// Byte-level and positioned, as a file: batches of IoOps, a copy inside
// the medium, a sync, allocation hints, a size. The layout of those bytes
// is the image format's (sdcard/image_format.h), known only to ImageStore.
// Not thread-safe: the Card calls it under its state lock.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"

namespace cardfs::sdcard {

// One positioned transfer: iov's buffers are read from (write) or filled (read).
struct IoOp {
  uint64_t offset = 0;
  std::span<const iovec> iov;
  uint64_t bytes() const {
    uint64_t n = 0;
    for (const iovec& v : iov) n += v.iov_len;
    return n;
  }
};

enum class OpenMode { kCreate, kReadWrite, kReadOnly };

// A range of the medium's bytes.
struct Extent {
  uint64_t offset = 0;
  uint64_t length = 0;
};

class Medium {
 public:
  virtual ~Medium() = default;

  virtual Status write(std::span<const IoOp> ops) = 0;
  // Starts writing `ops`, calls `meanwhile` while they are in flight, then
  // writes the ops it returns (their iovecs must outlive the call) and
  // waits for all: one batch whose second half is computed during the first.
  using Meanwhile = std::function<std::span<const IoOp>()>;
  virtual Status write_meanwhile(std::span<const IoOp> ops, const Meanwhile& meanwhile) = 0;
  virtual Status read(std::span<const IoOp> ops) = 0;
  // Copies [from, from+len) to [to, to+len) (the ranges must not overlap).
  virtual Status copy(uint64_t from, uint64_t to, uint64_t len) = 0;
  // Makes everything written so far durable (fdatasync for a file).
  virtual Status sync() = 0;
  // Returns when everything written so far is in the medium (for a file:
  // in the host's cache, where a process that is killed next leaves it),
  // for a medium that writes behind its callers (ImageFile).
  virtual Status finish_writes() { return Status::ok(); }
  // A hint that [offset, offset+len) is about to be written; reads are unchanged.
  virtual Status preallocate(uint64_t offset, uint64_t len) = 0;
  virtual Result<uint64_t> size() const = 0;
  // The ranges of [offset, offset + len) that may hold data, ascending;
  // the rest are holes and read as zeros, so a reader of a mostly empty
  // region (a large card's checkpoint) need not read them. By default all
  // of it.
  virtual Result<std::vector<Extent>> data_extents(uint64_t offset, uint64_t len) const {
    return std::vector<Extent>{{offset, len}};
  }
  virtual Status set_size(uint64_t bytes) = 0;
  // For messages: the image's path, or "memory".
  virtual const std::string& path() const = 0;

  Status write_at(uint64_t offset, std::span<const std::byte> data);
  Status read_at(uint64_t offset, std::span<std::byte> data);
};

}  // namespace cardfs::sdcard
