// ImageFile: the card's image file, with all data I/O through io_uring.
//
// This is the one file of sdcard/ that talks to the kernel's I/O paths.
// A batch (read() or write()) submits every operation at once, up to a
// bounded queue depth, and returns when all have completed: short
// transfers are resubmitted for the remainder, -EAGAIN/-EINTR retried, and
// any other failure is EIO naming the offset (never a silent success).
// Not thread-safe: the Card calls it under its state lock.
#pragma once

#include <liburing.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"

namespace cardfs::sdcard {

// One positioned transfer: iov's buffers are read from (write) or filled (read).
struct IoOp {
  uint64_t offset = 0;
  std::span<const iovec> iov;
};

enum class OpenMode { kCreate, kReadWrite, kReadOnly };

class ImageFile {
 public:
  // kCreate refuses an existing path (EEXIST).
  static Result<std::unique_ptr<ImageFile>> open(const std::string& path, OpenMode mode);
  ~ImageFile();
  ImageFile(const ImageFile&) = delete;
  ImageFile& operator=(const ImageFile&) = delete;

  Status write(std::span<const IoOp> ops);
  // Starts writing `ops`, calls `meanwhile` while they are in flight, then
  // writes the ops it returns (their iovecs must outlive the call) and
  // waits for all: one batch whose second half is computed during the first.
  using Meanwhile = std::function<std::span<const IoOp>()>;
  Status write_meanwhile(std::span<const IoOp> ops, const Meanwhile& meanwhile);
  Status read(std::span<const IoOp> ops);
  Status write_at(uint64_t offset, std::span<const std::byte> data);
  Status read_at(uint64_t offset, std::span<std::byte> data);

  // fdatasync; a no-op when nothing was written, punched, allocated or
  // resized through this object since its last successful sync (the
  // first sync after open always runs).
  Status sync();
  Status punch_hole(uint64_t offset, uint64_t len);  // reads back as zeros
  // Allocates [offset, offset+len) in the host file system without
  // changing what it reads (zeros in holes): later writes there do not
  // allocate block by block. A no-op where fallocate is not supported.
  Status preallocate(uint64_t offset, uint64_t len);
  Result<uint64_t> size() const;
  Status set_size(uint64_t bytes);
  const std::string& path() const { return path_; }

 private:
  ImageFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  Status transfer(std::span<const IoOp> ops, bool is_write, const Meanwhile& meanwhile);

  // An operation in flight: its own copy of the iovecs, advanced on short I/O.
  struct Pending {
    uint64_t offset = 0;
    std::vector<iovec> iov;
    size_t first = 0;  // first iovec not yet fully transferred
    uint64_t remaining = 0;
    void advance(uint64_t n);
  };

  int fd_ = -1;
  std::string path_;
  std::vector<Pending> pending_;
  std::vector<size_t> queue_;
  io_uring ring_{};
  bool ring_ready_ = false;
  bool unsynced_ = true;  // changed since the last successful fdatasync
};

}  // namespace cardfs::sdcard
