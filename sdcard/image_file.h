// ImageFile: the card's image file, with all data I/O through io_uring.
//
// This is the one file of sdcard/ that talks to the kernel's I/O paths.
// A batch (read() or write()) submits every operation at once, up to a
// bounded queue depth, and returns when all have completed: short
// transfers are resubmitted for the remainder, -EAGAIN/-EINTR retried, and
// any other failure is EIO naming the offset (never a silent success).
// Write batches of at most 128 KiB, and preallocations, are queued for
// the write-behind thread instead (sdcard/write_behind.h: written in order,
// a read of a range still queued waits for it, a sync or a large write
// waits for the queue), sparing io_uring's hand-off of buffered writes to
// a worker and the card's thread the host's write path.
// Not thread-safe: the Card calls it under its state lock.
//
// Large reads of ranges the host does not cache bypass its page cache:
// a read of at least kDirectReadMin bytes, 4 KiB-aligned in the file and
// in memory, whose range holds no page of the host's cache (cachestat(2)),
// goes through a second descriptor opened O_DIRECT, so the disk fills the
// caller's buffers without a copy and the image is not cached twice (the
// cache above already keeps what it reads). Coherent with this object's
// own buffered writes: a range they touched is in the host's cache (dirty
// or not) until written back and evicted, so it is read through the cache,
// and an O_DIRECT read writes back dirty pages of its range first anyway.
// Writes, syncs and durability are unchanged. Where O_DIRECT or cachestat
// is not available every read is buffered, as before.
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
#include "sdcard/medium.h"
#include "sdcard/write_behind.h"

namespace cardfs::sdcard {

class ImageFile final : public Medium {
 public:
  // kCreate refuses an existing path (EEXIST).
  static Result<std::unique_ptr<ImageFile>> open(const std::string& path, OpenMode mode);
  ~ImageFile() override;
  ImageFile(const ImageFile&) = delete;
  ImageFile& operator=(const ImageFile&) = delete;

  Status write(std::span<const IoOp> ops) override;
  Status write_meanwhile(std::span<const IoOp> ops, const Meanwhile& meanwhile) override;
  Status read(std::span<const IoOp> ops) override;
  static constexpr uint64_t kDirectReadMin = 64 * 1024;
  static constexpr uint64_t kDirectAlign = 4096;
  // Copies [from, from+len) to [to, to+len) inside the file (the ranges
  // must not overlap) through this object's buffers, reading the next
  // chunk while the previous one is being written.
  Status copy(uint64_t from, uint64_t to, uint64_t len) override;

  // fdatasync; a no-op when nothing was written, copied, allocated or
  // resized through this object since its last successful sync (the
  // first sync after open always runs).
  Status sync() override;
  Status finish_writes() override { return write_behind_->drain(); }
  // fsyncs the directory holding `path`: a file it created is then found
  // after a host crash too.
  static Status sync_directory_of(const std::string& path);
  // Allocates [offset, offset+len) in the host file system without
  // changing what it reads (zeros in holes): later writes there do not
  // allocate block by block. A no-op where fallocate is not supported.
  Status preallocate(uint64_t offset, uint64_t len) override;
  Result<uint64_t> size() const override;
  // SEEK_DATA / SEEK_HOLE (all of it where the host file system has neither).
  Result<std::vector<Extent>> data_extents(uint64_t offset, uint64_t len) const override;
  Status set_size(uint64_t bytes) override;
  const std::string& path() const override { return path_; }
  // Whether large uncached reads can bypass the host's cache here, and the
  // bytes read that way since open (for tests and profiles).
  bool reads_direct() const { return direct_ok_; }
  uint64_t direct_bytes_read() const { return direct_bytes_read_; }

  // Fault injection: what submits and waits (io_uring_submit_and_wait by
  // default), so a test can make it fail after the kernel took some, all
  // or none of the requests.
  using SubmitAndWait = int (*)(io_uring* ring, unsigned wait_nr);
  void set_submit_and_wait(SubmitAndWait f) { submit_and_wait_ = f; }

 private:
  ImageFile(int fd, std::string path)
      : fd_(fd), path_(std::move(path)), write_behind_(std::make_unique<WriteBehind>(fd_, path_)) {}
  Status transfer(std::span<const IoOp> ops, bool is_write, const Meanwhile& meanwhile);
  bool should_read_direct(const IoOp& op, uint64_t bytes);
  void stop_direct_reads();
  // After a failed submit: turns what the kernel did not take into NOPs
  // (they would otherwise run at the next submit, after this call's
  // buffers are gone) and returns how many.
  unsigned cancel_unsubmitted();
  Status read_now(uint64_t offset, std::span<std::byte> data);  // pread from this thread

  // An operation in flight: its own copy of the iovecs, advanced on short I/O.
  struct Pending {
    uint64_t offset = 0;
    std::vector<iovec> iov;
    size_t first = 0;  // first iovec not yet fully transferred
    uint64_t remaining = 0;
    bool direct = false;  // a read through direct_fd_
    void advance(uint64_t n);
  };

  int fd_ = -1;
  int direct_fd_ = -1;  // the image opened O_RDONLY | O_DIRECT, when the host allows it
  bool direct_ok_ = false;  // and reads through it work (cachestat too)
  uint64_t direct_bytes_read_ = 0;
  std::string path_;
  std::vector<Pending> pending_;
  std::vector<size_t> queue_;
  io_uring ring_{};
  bool ring_ready_ = false;
  SubmitAndWait submit_and_wait_ = io_uring_submit_and_wait;
  bool unsynced_ = true;  // changed since the last successful fdatasync
  std::vector<std::byte> copy_buffer_;
  std::unique_ptr<WriteBehind> write_behind_;  // after fd_ and path_: made from them
};

}  // namespace cardfs::sdcard
