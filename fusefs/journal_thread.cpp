// Filesystem: the journal thread, jbd2's kjournald2 — commits the running
// transaction every commit= seconds, and at once when an fsync or a full
// transaction asks (docs/journal.md "Commit").
#include <pthread.h>

#include "base/log.h"
#include "blockdev/bio.h"
#include "fusefs/filesystem.h"

namespace cardfs::fusefs {

void Filesystem::start_journal_thread(Nanos interval) {
  if (!journal_log_) return;
  std::lock_guard lock(jt_mu_);
  if (jt_thread_.joinable()) return;
  jt_interval_ = interval;
  jt_stop_ = false;
  jt_thread_ = std::thread([this] { journal_loop(); });
}

void Filesystem::stop_journal_thread() {
  {
    std::lock_guard lock(jt_mu_);
    if (!jt_thread_.joinable()) return;
    jt_stop_ = true;
    jt_cv_.notify_all();
  }
  jt_thread_.join();
  std::lock_guard lock(jt_mu_);
  jt_thread_ = std::thread();
}

void Filesystem::journal_loop() {
  pthread_setname_np(pthread_self(), "jbd2/mmcblk0-8");  // 14 characters: a whole comm
  blockdev::set_thread_trace_name(blockdev::kernel_thread_name(blockdev::KernelThread::kJournal));
  std::unique_lock lock(jt_mu_);
  Nanos next = clock_.now() + jt_interval_;
  for (;;) {
    clock_.wait_until(lock, jt_cv_, next, [&] {
      return jt_stop_ || jt_requested_ > committed_tid_.load();
    });
    if (jt_stop_) return;
    lock.unlock();
    Result<bool> r = commit_through(running_tid_.load(), false);
    if (!r.is_ok()) logger("fusefs")->error("journal commit: {}", r.status().to_string());
    lock.lock();
    jt_error_ = r.is_ok() ? Status::ok() : r.status();
    if (r.is_ok() && *r) jt_wrote_through_ = committed_tid_.load();
    next = clock_.now() + jt_interval_;
    jt_cv_.notify_all();
  }
}

// Commits through `tid` on the journal thread when it runs (as an fsync
// waits for kjournald2), else on the caller's. True when a commit block
// written after this call made everything written before it durable.
Result<bool> Filesystem::wait_for_commit(uint64_t tid) {
  std::unique_lock lock(jt_mu_);
  if (!jt_thread_.joinable()) {
    lock.unlock();
    return commit_through(tid, false);
  }
  if (committed_tid_.load() >= tid) return false;
  jt_requested_ = std::max(jt_requested_, tid);
  jt_cv_.notify_all();
  jt_cv_.wait(lock, [&] { return jt_stop_ || committed_tid_.load() >= tid || !jt_error_.is_ok(); });
  if (committed_tid_.load() < tid) {
    if (!jt_error_.is_ok()) return jt_error_;
    lock.unlock();
    return commit_through(tid, false);  // the thread stopped first
  }
  return jt_wrote_through_ >= tid;
}

// A handle found the running transaction past its share of the ring:
// the thread commits it (the handle's thread only asks, as jbd2's
// jbd2_log_start_commit), or, without a thread, the caller does.
void Filesystem::start_commit() {
  std::unique_lock lock(jt_mu_);
  if (jt_thread_.joinable()) {
    jt_requested_ = std::max(jt_requested_, running_tid_.load());
    jt_cv_.notify_all();
    return;
  }
  lock.unlock();
  auto r = commit_through(running_tid_.load(), false);
  if (!r.is_ok()) logger("fusefs")->error("journal commit: {}", r.status().to_string());
}

}  // namespace cardfs::fusefs
