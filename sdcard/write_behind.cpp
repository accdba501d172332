#include "sdcard/write_behind.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace cardfs::sdcard {
namespace {

constexpr size_t kSpareBuffers = 64;
// Past this many queued items a read waits for all of them rather than
// looking for an overlap in each.
constexpr size_t kMaxOverlapChecks = 256;
constexpr std::chrono::microseconds kNap{200};
constexpr int kNaps = 10;

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
    for (const iovec& v : ops[i].iov) item.len += v.iov_len;
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
    while (queued_bytes_ > kMaxQueuedBytes && !items_.empty()) wait_idle(l);
    if (Status st = take_error(); !st.is_ok()) return st;
    for (Item& item : batch) {
      if (item.len == 0) continue;
      queued_bytes_ += item.allocate ? 0 : item.len;
      items_.push_back(std::move(item));
    }
    // The writer is woken only when it sleeps (run()): one that is busy
    // or napping finds the items soon.
    wake = writer_waiting_ && !items_.empty();
    if (wake) writer_waiting_ = false;
  }
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  if (wake) work_.notify_one();
  return Status::ok();
}

void WriteBehind::wait_idle(MutexLock& l) {
  work_.notify_one();  // a napping writer is not left to its nap
  ++idle_waiters_;
  idle_.wait(l);
  --idle_waiters_;
}

Status WriteBehind::drain() {
  MutexLock l(mu_);
  while (!items_.empty()) wait_idle(l);
  return take_error();
}

bool WriteBehind::overlaps(std::span<const IoOp> ops) const {
  for (const Item& item : items_) {
    if (item.allocate) continue;  // reads the zeros (or data) it keeps
    for (const IoOp& op : ops) {
      uint64_t len = 0;
      for (const iovec& v : op.iov) len += v.iov_len;
      if (op.offset < item.offset + item.len && item.offset < op.offset + len) return true;
    }
  }
  return false;
}

Status WriteBehind::settle(std::span<const IoOp> ops) {
  MutexLock l(mu_);
  if (items_.size() > kMaxOverlapChecks || overlaps(ops))
    while (!items_.empty()) wait_idle(l);
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

// Between runs the writer naps (kNap, up to kNaps times) before it
// sleeps until woken: waking it is a futex call on the card's thread
// (a tenth of that thread's time when every enqueue woke it), and during
// a burst of merges a nap collects the items of several.
void WriteBehind::run() {
  pthread_setname_np(pthread_self(), "image-write");
  MutexLock l(mu_);
  int naps = 0;
  for (;;) {
    if (items_.empty() && !stop_) {
      if (naps < kNaps) {
        ++naps;
        work_.wait_for(l, kNap);
      } else {
        writer_waiting_ = true;
        work_.wait(l);
        writer_waiting_ = false;
      }
      continue;
    }
    if (items_.empty()) return;  // stopped, everything written
    naps = 0;
    // The items queued now are written in order without the lock; they
    // stay queued (a read of their ranges waits) until written. Only this
    // thread removes items, and a deque's push_back keeps references to
    // the others valid.
    const size_t n = items_.size();
    l.unlock();
    Status failure;
    for (size_t i = 0; i < n; ++i) {
      Status st = perform(items_[i]);
      if (!st.is_ok() && failure.is_ok()) failure = std::move(st);
    }
    l.lock();
    if (!failure.is_ok() && error_.is_ok()) error_ = std::move(failure);
    for (size_t i = 0; i < n; ++i) {
      Item& item = items_.front();
      ++written_;
      if (!item.allocate) queued_bytes_ -= item.len;
      if (!item.allocate && spare_.size() < kSpareBuffers) spare_.push_back(std::move(item.bytes));
      items_.pop_front();
    }
    if (idle_waiters_ > 0) idle_.notify_all();
  }
}

}  // namespace cardfs::sdcard
