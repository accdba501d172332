#include "sdcard/image_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

namespace cardfs::sdcard {
namespace {

constexpr unsigned kQueueDepth = 64;
// The user data of a request cancelled after a failed submit (a NOP).
constexpr uint64_t kCancelled = UINT64_MAX;
// Write batches up to this size are written synchronously (write_now).
constexpr uint64_t kSmallWriteBytes = 128 * 1024;
// copy() moves data in chunks of this size.
constexpr uint64_t kCopyChunkBytes = 1 << 20;

Status errno_status(int err, const std::string& what) {
  return Status::error(err, what + ": " + std::strerror(err));
}

// cachestat(2), Linux 6.5; the headers of older systems lack it.
#ifndef SYS_cachestat
#define SYS_cachestat 451
#endif
struct CachestatRange {
  uint64_t off, len;
};
struct Cachestat {
  uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};

// Pages of [off, off + len) in the host's page cache; -1 if it cannot say.
int64_t host_cached_pages(int fd, uint64_t off, uint64_t len) {
  CachestatRange range{off, len};
  Cachestat cs{};
  if (::syscall(SYS_cachestat, fd, &range, &cs, 0) != 0) return -1;
  return int64_t(cs.nr_cache + cs.nr_dirty + cs.nr_writeback);
}

}  // namespace

void ImageFile::Pending::advance(uint64_t n) {
  offset += n;
  remaining -= n;
  while (n > 0) {
    iovec& v = iov[first];
    if (n >= v.iov_len) {
      n -= v.iov_len;
      ++first;
    } else {
      v.iov_base = static_cast<char*>(v.iov_base) + n;
      v.iov_len -= n;
      n = 0;
    }
  }
}

Result<std::unique_ptr<ImageFile>> ImageFile::open(const std::string& path, OpenMode mode) {
  int flags = O_CLOEXEC;
  if (mode == OpenMode::kCreate) flags |= O_RDWR | O_CREAT | O_EXCL;
  if (mode == OpenMode::kReadWrite) flags |= O_RDWR;
  if (mode == OpenMode::kReadOnly) flags |= O_RDONLY;
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) return errno_status(errno, path);
  std::unique_ptr<ImageFile> f(new ImageFile(fd, path));
  int rc = io_uring_queue_init(kQueueDepth, &f->ring_, 0);
  if (rc < 0) return errno_status(-rc, "io_uring_queue_init");
  f->ring_ready_ = true;
  f->direct_fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECT);
  f->direct_ok_ = f->direct_fd_ >= 0 && host_cached_pages(fd, 0, kDirectAlign) >= 0;
  return f;
}

ImageFile::~ImageFile() {
  write_behind_.reset();  // what it holds reaches the file before it is closed
  if (ring_ready_) io_uring_queue_exit(&ring_);
  if (fd_ >= 0) ::close(fd_);
  if (direct_fd_ >= 0) ::close(direct_fd_);
}

bool ImageFile::should_read_direct(const IoOp& op, uint64_t bytes) {
  if (!direct_ok_ || bytes < kDirectReadMin || op.offset % kDirectAlign != 0) return false;
  for (const iovec& v : op.iov)
    if (v.iov_len % kDirectAlign != 0 || reinterpret_cast<uintptr_t>(v.iov_base) % kDirectAlign != 0)
      return false;
  int64_t cached = host_cached_pages(fd_, op.offset, bytes);
  if (cached < 0) stop_direct_reads();
  return cached == 0;
}

// The host refused a direct read (an alignment it wants larger than ours)
// or cannot tell what it caches: every read is buffered from now on.
void ImageFile::stop_direct_reads() { direct_ok_ = false; }

unsigned ImageFile::cancel_unsubmitted() {
  // [khead, sqe_tail) are the entries the kernel has not consumed, whether
  // liburing flushed them to the shared ring or not.
  const unsigned n = io_uring_sq_ready(&ring_);
  for (unsigned i = 0; i < n; ++i) {
    io_uring_sqe* sqe = &ring_.sq.sqes[(ring_.sq.sqe_tail - n + i) & ring_.sq.ring_mask];
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data64(sqe, kCancelled);
  }
  return n;
}

Status ImageFile::transfer(std::span<const IoOp> ops, bool is_write, const Meanwhile& meanwhile) {
  if (is_write) unsynced_ = true;
  // pending_ and queue_ keep their storage between calls (a small read
  // then allocates nothing); pending_[0, count) are this call's.
  size_t count = 0;
  queue_.clear();  // indexes waiting for a submission slot, last first
  auto add = [&](std::span<const IoOp> more) {
    const size_t base = count;
    count += more.size();
    if (pending_.size() < count) pending_.resize(count);
    for (size_t i = 0; i < more.size(); ++i) {
      Pending& p = pending_[base + i];
      p.offset = more[i].offset;
      p.iov.assign(more[i].iov.begin(), more[i].iov.end());
      p.first = 0;
      p.remaining = more[i].bytes();
      p.direct = !is_write && should_read_direct(more[i], p.remaining);
    }
    queue_.insert(queue_.begin(), more.size(), 0);
    size_t at = 0;
    for (size_t i = count; i-- > base;)
      if (pending_[i].remaining > 0) queue_[at++] = i;
    queue_.erase(queue_.begin() + at, queue_.begin() + more.size());
  };
  std::vector<Pending>& pending = pending_;
  std::vector<size_t>& queue = queue_;
  add(ops);
  unsigned in_flight = 0;
  Status failure;
  bool submit_failed = false;
  auto fill = [&] {
    while (!queue.empty() && in_flight < kQueueDepth && failure.is_ok()) {
      io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
      if (sqe == nullptr) break;
      Pending& p = pending[queue.back()];
      unsigned n = unsigned(std::min<size_t>(p.iov.size() - p.first, IOV_MAX));
      if (is_write)
        io_uring_prep_writev(sqe, fd_, p.iov.data() + p.first, n, p.offset);
      else
        io_uring_prep_readv(sqe, p.direct ? direct_fd_ : fd_, p.iov.data() + p.first, n, p.offset);
      io_uring_sqe_set_data64(sqe, queue.back());
      queue.pop_back();
      ++in_flight;
    }
  };
  if (meanwhile) {
    // Start the kernel on the first ops, then do the caller's work while
    // it runs (buffered writes go to an io_uring worker thread).
    fill();
    int rc = io_uring_submit(&ring_);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN) failure = errno_status(-rc, "io_uring_submit");
    add(meanwhile());
  }
  while (!queue.empty() || in_flight > 0) {
    fill();
    if (!failure.is_ok()) queue.clear();
    if (in_flight == 0) break;
    // Once a submit has failed, only wait: every request the kernel took
    // reads or writes the caller's buffers until its completion is seen.
    io_uring_cqe* cqe = nullptr;
    int rc = submit_failed ? io_uring_wait_cqe(&ring_, &cqe) : submit_and_wait_(&ring_, 1);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN) {
      if (submit_failed) return failure;  // the ring itself is broken: nothing more to collect
      failure = errno_status(-rc, "io_uring_submit");
      submit_failed = true;
      in_flight -= cancel_unsubmitted();
      queue.clear();
      continue;
    }
    while (io_uring_peek_cqe(&ring_, &cqe) == 0) {
      size_t idx = size_t(io_uring_cqe_get_data64(cqe));
      int res = cqe->res;
      io_uring_cqe_seen(&ring_, cqe);
      if (idx == kCancelled) continue;  // a NOP left by an earlier failed submit
      --in_flight;
      Pending& p = pending[idx];
      if (res == -EAGAIN || res == -EINTR) {
        queue.push_back(idx);
      } else if (res == -EINVAL && p.direct) {
        stop_direct_reads();
        p.direct = false;
        queue.push_back(idx);
      } else if (res < 0) {
        if (failure.is_ok())
          failure = Status::error(EIO, std::string(is_write ? "write" : "read") + " of " + path_ +
                                           " at " + std::to_string(p.offset) + ": " + std::strerror(-res));
      } else if (res == 0) {
        if (failure.is_ok())
          failure = Status::error(EIO, "short " + std::string(is_write ? "write" : "read") + " of " +
                                           path_ + " at " + std::to_string(p.offset) + " (end of file)");
      } else {
        if (p.direct) direct_bytes_read_ += uint64_t(res);
        p.advance(uint64_t(res));
        // A short direct read (the end of the file) finishes buffered,
        // which needs no alignment.
        p.direct = false;
        if (p.remaining > 0) queue.push_back(idx);
      }
    }
  }
  return failure;
}

// Small writes are queued for the write-behind thread (write_behind.h):
// io_uring hands every buffered write on ext4 to a worker thread (no
// non-blocking buffered writes there), and for a few pages that hand-off
// and the wake-up back cost more than the copy; written by the card's
// thread, they were a quarter of its time under random writes with fsync.
static bool small_batch(std::span<const IoOp> ops) {
  uint64_t bytes = 0;
  for (const IoOp& op : ops) bytes += op.bytes();
  return bytes <= kSmallWriteBytes;
}

Status ImageFile::write(std::span<const IoOp> ops) {
  unsynced_ = true;
  if (small_batch(ops)) return write_behind_->write(ops);
  CARDFS_RETURN_IF_ERROR(write_behind_->drain());
  return transfer(ops, true, nullptr);
}

Status ImageFile::read(std::span<const IoOp> ops) {
  CARDFS_RETURN_IF_ERROR(write_behind_->settle(ops));
  return transfer(ops, false, nullptr);
}

Status ImageFile::write_meanwhile(std::span<const IoOp> ops, const Meanwhile& meanwhile) {
  unsynced_ = true;
  if (!small_batch(ops)) {
    CARDFS_RETURN_IF_ERROR(write_behind_->drain());
    return transfer(ops, true, meanwhile);
  }
  CARDFS_RETURN_IF_ERROR(write_behind_->write(ops));
  return write_behind_->write(meanwhile());
}

Status Medium::write_at(uint64_t offset, std::span<const std::byte> data) {
  iovec v{const_cast<std::byte*>(data.data()), data.size()};
  IoOp op{offset, std::span<const iovec>(&v, 1)};
  return write(std::span<const IoOp>(&op, 1));
}

Status Medium::read_at(uint64_t offset, std::span<std::byte> data) {
  iovec v{data.data(), data.size()};
  IoOp op{offset, std::span<const iovec>(&v, 1)};
  return read(std::span<const IoOp>(&op, 1));
}

// Two chunk buffers: io_uring's worker writes one chunk while this thread
// reads the next (the ranges do not overlap). One thread doing both copies
// in turn, or the kernel's copy_file_range on one thread, took as much
// wall time or more when the machine was busy.
Status ImageFile::copy(uint64_t from, uint64_t to, uint64_t len) {
  if (len == 0) return Status::ok();
  CARDFS_RETURN_IF_ERROR(write_behind_->drain());
  const uint64_t chunk = std::min<uint64_t>(len, kCopyChunkBytes);
  copy_buffer_.resize(2 * chunk);
  std::byte* bufs[2] = {copy_buffer_.data(), copy_buffer_.data() + chunk};
  CARDFS_RETURN_IF_ERROR(read_now(from, std::span(bufs[0], chunk)));
  for (uint64_t done = 0, k = 0; done < len; ++k) {
    const uint64_t n = std::min(chunk, len - done);
    const uint64_t next = std::min(chunk, len - done - n);
    iovec v{bufs[k % 2], n};
    const IoOp op{to + done, std::span<const iovec>(&v, 1)};
    Status read_next;
    CARDFS_RETURN_IF_ERROR(transfer(std::span<const IoOp>(&op, 1), true, [&]() -> std::span<const IoOp> {
      if (next > 0) read_next = read_now(from + done + n, std::span(bufs[(k + 1) % 2], next));
      return {};
    }));
    CARDFS_RETURN_IF_ERROR(read_next);
    done += n;
  }
  return Status::ok();
}

Status ImageFile::read_now(uint64_t offset, std::span<std::byte> data) {
  for (uint64_t done = 0; done < data.size();) {
    const ssize_t n = ::pread(fd_, data.data() + done, data.size() - done, off_t(offset + done));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0)
      return Status::error(EIO, "read of " + path_ + " at " + std::to_string(offset + done) + ": " +
                                    std::strerror(errno));
    if (n == 0)
      return Status::error(EIO, "short read of " + path_ + " at " + std::to_string(offset + done) +
                                    " (end of file)");
    done += uint64_t(n);
  }
  return Status::ok();
}

Status ImageFile::sync() {
  // Nothing changed the file since the last fdatasync: the host has it all
  // already, and a second fdatasync would only cost a disk cache flush.
  CARDFS_RETURN_IF_ERROR(write_behind_->drain());
  if (!unsynced_) return Status::ok();
  if (::fdatasync(fd_) != 0) return Status::error(EIO, "fdatasync " + path_ + ": " + std::strerror(errno));
  unsynced_ = false;
  return Status::ok();
}

Status ImageFile::sync_directory_of(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_status(errno, "opening the directory of " + path);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return Status::error(EIO, "fsync of the directory of " + path + ": " + std::strerror(err));
  return Status::ok();
}

Status ImageFile::preallocate(uint64_t offset, uint64_t len) {
  unsynced_ = true;
  return write_behind_->preallocate(offset, len);
}

Result<uint64_t> ImageFile::size() const {
  CARDFS_RETURN_IF_ERROR(write_behind_->drain());
  struct stat st;
  if (::fstat(fd_, &st) != 0) return errno_status(errno, "stat " + path_);
  return uint64_t(st.st_size);
}

Result<std::vector<Extent>> ImageFile::data_extents(uint64_t offset, uint64_t len) const {
  CARDFS_RETURN_IF_ERROR(write_behind_->drain());
  std::vector<Extent> out;
  const uint64_t end = offset + len;
  for (uint64_t at = offset; at < end;) {
    const off_t data = ::lseek(fd_, off_t(at), SEEK_DATA);
    if (data < 0 && errno == ENXIO) break;  // no data from here to the end of the file
    if (data < 0 && errno == EINVAL) return std::vector<Extent>{{offset, len}};  // not supported
    if (data < 0) return errno_status(errno, "seeking data in " + path_);
    if (uint64_t(data) >= end) break;
    const off_t hole = ::lseek(fd_, data, SEEK_HOLE);
    if (hole < 0) return errno_status(errno, "seeking a hole in " + path_);
    const uint64_t stop = std::min<uint64_t>(uint64_t(hole), end);
    out.push_back({uint64_t(data), stop - uint64_t(data)});
    at = stop;
  }
  return out;
}

Status ImageFile::set_size(uint64_t bytes) {
  CARDFS_RETURN_IF_ERROR(write_behind_->drain());
  unsynced_ = true;
  if (::ftruncate(fd_, off_t(bytes)) != 0) return errno_status(errno, "truncate " + path_);
  return Status::ok();
}

}  // namespace cardfs::sdcard
