#include "sdcard/write_behind.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cardfs::sdcard {
namespace {

// Buffers kept for reuse: at most 64 of at most 64 KiB (4 MiB).
constexpr size_t kSpareBuffers = 64;
constexpr size_t kSpareBufferBytes = 64 * 1024;
// Past this many queued items a read waits for all of them rather than
// looking for an overlap in each.
constexpr size_t kMaxOverlapChecks = 256;

}  // namespace

WriteBehind::~WriteBehind() {
  {
    MutexLock l(mu_);
    stop_ = true;
  }
  work_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status WriteBehind::take_error() {
  Status st = std::move(error_);
  error_ = Status::ok();
  return st;
}

Status WriteBehind::write(std::span<const IoOp> ops) {
  std::vector<Item>& batch = batch_;
  batch.clear();
  batch.resize(ops.size());
  {
    MutexLock l(mu_);
    for (size_t i = 0; i < ops.size() && !spare_.empty(); ++i) {
      batch[i].bytes = std::move(spare_.back());
      spare_.pop_back();
    }
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    Item& item = batch[i];
    item.offset = ops[i].offset;
    item.len = ops[i].bytes();
    item.bytes.resize(item.len);
    std::byte* at = item.bytes.data();
    for (const iovec& v : ops[i].iov) {
      std::memcpy(at, v.iov_base, v.iov_len);
      at += v.iov_len;
    }
  }
  return enqueue(batch);
}

Status WriteBehind::preallocate(uint64_t offset, uint64_t len) {
  std::vector<Item>& batch = batch_;
  batch.clear();
  batch.emplace_back();
  batch[0].offset = offset;
  batch[0].len = len;
  batch[0].allocate = true;
  return enqueue(batch);
}

// One lock for the whole batch: the writer takes the lock after each run
// of items, and every contended acquisition is a futex call on both sides.
Status WriteBehind::enqueue(std::vector<Item>& batch) {
  bool wake = false;
  {
    MutexLock l(mu_);
    if (Status st = take_error(); !st.is_ok()) return st;
    if (queued_bytes_ > kMaxQueuedBytes) {
      write_all(l);
      if (Status st = take_error(); !st.is_ok()) return st;
    }
    for (Item& item : batch) {
      if (item.len == 0) continue;
      queued_bytes_ += item.allocate ? 0 : item.len;
      items_.push_back(std::move(item));
    }
    // The writer is woken only when it sleeps: one that is busy finds the
    // items when it is done with those before.
    wake = writer_waiting_ && !items_.empty();
    if (wake) writer_waiting_ = false;
  }
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  if (wake) work_.notify_one();
  return Status::ok();
}

// The caller writes what is queued itself unless the writer is at it:
// waking the writer to wait for it would cost two thread wake-ups per
// sync (a durable card syncs at every flush).
void WriteBehind::write_all(MutexLock& l) {
  while (!items_.empty()) {
    if (!writing_) {
      write_front(items_.size());
      continue;
    }
    ++idle_waiters_;
    idle_.wait(l);
    --idle_waiters_;
  }
}

// The first n items, written in order without the lock; they stay queued
// (a read of their ranges waits) until written. Only the one writing
// (writing_) removes items, and a deque's push_back keeps references to
// the others valid.
void WriteBehind::write_front(size_t n) {
  writing_ = true;
  // Pointers taken under the lock: indexing the deque reads its map,
  // which a push_back may replace meanwhile.
  std::vector<const Item*>& run = run_;
  run.clear();
  for (size_t i = 0; i < n; ++i) run.push_back(&items_[i]);
  mu_.unlock();
  Status failure;
  for (const Item* item : run) {
    Status st = perform(*item);
    if (!st.is_ok() && failure.is_ok()) failure = std::move(st);
  }
  mu_.lock();
  writing_ = false;
  if (!failure.is_ok() && error_.is_ok()) error_ = std::move(failure);
  for (size_t i = 0; i < n; ++i) {
    Item& item = items_.front();
    ++written_;
    if (!item.allocate) queued_bytes_ -= item.len;
    if (!item.allocate && spare_.size() < kSpareBuffers && item.bytes.capacity() <= kSpareBufferBytes)
      spare_.push_back(std::move(item.bytes));
    items_.pop_front();
  }
  if (idle_waiters_ > 0) idle_.notify_all();
}

Status WriteBehind::drain() {
  MutexLock l(mu_);
  write_all(l);
  return take_error();
}

bool WriteBehind::overlaps(std::span<const IoOp> ops) const {
  for (const IoOp& op : ops) {
    const uint64_t len = op.bytes();
    for (const Item& item : items_)  // an allocation reads the zeros (or data) it keeps
      if (!item.allocate && op.offset < item.offset + item.len && item.offset < op.offset + len) return true;
  }
  return false;
}

Status WriteBehind::settle(std::span<const IoOp> ops) {
  MutexLock l(mu_);
  if (items_.size() > kMaxOverlapChecks || overlaps(ops)) write_all(l);
  return take_error();
}

uint64_t WriteBehind::written() const {
  MutexLock l(mu_);
  return written_;
}

Status WriteBehind::perform(const Item& item) const {
  if (item.allocate) {
    if (::fallocate(fd_, FALLOC_FL_KEEP_SIZE, off_t(item.offset), off_t(item.len)) == 0 || errno == EOPNOTSUPP)
      return Status::ok();
    return Status::error(EIO, "allocating space in " + path_ + " at " + std::to_string(item.offset) + ": " +
                                  std::strerror(errno));
  }
  for (uint64_t done = 0; done < item.len;) {
    const ssize_t n = ::pwrite(fd_, item.bytes.data() + done, item.len - done, off_t(item.offset + done));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0)
      return Status::error(EIO, "write of " + path_ + " at " + std::to_string(item.offset + done) + ": " +
                                    std::strerror(errno));
    if (n == 0) return Status::error(EIO, "short write of " + path_ + " at " + std::to_string(item.offset + done));
    done += uint64_t(n);
  }
  return Status::ok();
}

// The writer sleeps when the queue is empty, and is woken by the first
// item queued then. (Napping 30-200 us before sleeping, so that a burst of
// merges would wake it less often, cut the card thread's futex calls by
// two thirds but not its wall time: medians of 5 runs no better, or worse.)
void WriteBehind::run() {
  pthread_setname_np(pthread_self(), "image-write");
  MutexLock l(mu_);
  for (;;) {
    if (items_.empty() && stop_) return;  // stopped, everything written
    if (items_.empty() || writing_) {
      writer_waiting_ = true;
      work_.wait(l);
      writer_waiting_ = false;
      continue;
    }
    write_front(items_.size());
  }
}

}  // namespace cardfs::sdcard
