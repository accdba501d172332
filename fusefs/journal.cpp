// Journal: commit and checkpoint writes of the ring (journal.h).
#include "fusefs/journal.h"

#include <condition_variable>
#include <mutex>

#include "base/log.h"
#include "blockdev/block_device.h"

namespace cardfs::fusefs {
namespace {

// Completion of a batch of bios: the first error, once all are done.
struct BatchWait {
  std::mutex mu;
  std::condition_variable cv;
  size_t pending = 0;
  int error = 0;
  void done(int st) {
    std::lock_guard lock(mu);
    if (st < 0 && error == 0) error = st;
    if (--pending == 0) cv.notify_all();
  }
  int wait() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return pending == 0; });
    return error;
  }
};

}  // namespace

// The waits are loops rather than predicates: clang checks a lambda
// apart from the lock its caller holds.
bool TransactionGate::enter() {
  MutexLock lock(mu_);
  const bool waited = closed_;
  while (closed_) cv_.wait(lock);
  ++handles_;
  return waited;
}

void TransactionGate::leave() {
  MutexLock lock(mu_);
  if (--handles_ == 0 && closed_) cv_.notify_all();
}

void TransactionGate::close() {
  MutexLock lock(mu_);
  while (closed_) cv_.wait(lock);
  closed_ = true;
  closed_hint_ = true;
  while (handles_ != 0) cv_.wait(lock);
}

void TransactionGate::open() {
  MutexLock lock(mu_);
  closed_ = false;
  closed_hint_ = false;
  cv_.notify_all();
}

Journal::Journal(cache::PageCache& cache, const Superblock& sb, journal::JournalExtent ext,
                 journal::JournalSuper js)
    : cache_(cache), bs_(sb.block_size()), seed_(sb.csum_seed()), ext_(std::move(ext)), js_(js),
      ring_(js.maxlen - js.first), head_(js.first), sequence_(js.sequence) {}

uint32_t Journal::blocks_needed(size_t logged, size_t freed) const {
  return journal::transaction_blocks(uint32_t(logged), uint32_t(freed), bs_);
}

JournalCounters Journal::counters() const {
  return {commits_.load(), copies_.load(), log_blocks_.load(), revokes_.load(),
          checkpoints_.load(), wait_ns_.load()};
}

Status Journal::fail(Status st) {
  if (!aborted_) logger("fusefs")->error("journal aborted: {}", st.to_string());
  aborted_ = true;
  return st;
}

// One bio per block, as jbd2 submits its buffers, under one plug so that
// the queue merges them; split where the ring wraps. Waited for.
Status Journal::write_log(uint32_t at, std::span<const std::vector<std::byte>> blocks,
                          uint32_t flags) {
  blockdev::BlockDevice& dev = cache_.device();
  BatchWait batch;
  batch.pending = blocks.size();
  {
    blockdev::Plug plug(dev);
    for (size_t i = 0; i < blocks.size(); ++i) {
      const uint32_t pos = js_.first + (at - js_.first + uint32_t(i)) % ring_;
      auto bio = std::make_unique<blockdev::Bio>();
      bio->op = blockdev::BioOp::kWrite;
      bio->sector = (ext_.first + pos) * (bs_ / blockdev::kSectorSize);
      bio->flags = flags;
      bio->segments.push_back({const_cast<std::byte*>(blocks[i].data()), bs_});
      blockdev::set_submitter_from_current_thread(*bio);
      bio->on_complete = [&batch](int st) { batch.done(st); };
      dev.submit(std::move(bio));
    }
  }
  if (int rc = batch.wait(); rc < 0)
    return Status::error(-rc, "journal write at log block " + std::to_string(at));
  return Status::ok();
}

Status Journal::write_super(uint32_t start, uint32_t flags) {
  js_.start = start;
  js_.sequence = sequence_;
  std::vector<std::vector<std::byte>> blk(1, std::vector<std::byte>(bs_));
  journal::encode_super(js_, seed_, blk[0]);
  // Block 0 is outside the ring: write_log's wrap never applies to it.
  blockdev::BlockDevice& dev = cache_.device();
  auto bio = std::make_unique<blockdev::Bio>();
  bio->op = blockdev::BioOp::kWrite;
  bio->sector = ext_.first * (bs_ / blockdev::kSectorSize);
  bio->flags = flags;
  bio->segments.push_back({blk[0].data(), bs_});
  blockdev::set_submitter_from_current_thread(*bio);
  if (int rc = blockdev::submit_and_wait(dev, std::move(bio)); rc < 0)
    return Status::error(-rc, "journal superblock write");
  return Status::ok();
}

Status Journal::commit(std::span<const cache::PageCache::BlockCopy> blocks,
                       std::span<const uint64_t> freed, const Timespec& time) {
  if (aborted_) return Status::error(EIO, "the journal was aborted by an earlier error");
  std::vector<uint64_t> revoked;
  for (uint64_t b : freed)
    if (logged_.erase(b)) revoked.push_back(b);
  std::vector<journal::LoggedBlock> logged;
  logged.reserve(blocks.size());
  for (const auto& c : blocks) logged.push_back({c.block, c.bytes});
  journal::TransactionImage img =
      journal::build_transaction(logged, revoked, sequence_, time, bs_, seed_);
  const uint32_t n = uint32_t(img.blocks.size());
  if (n > free_blocks())
    return fail(Status::error(ENOSPC, "journal: a transaction of " + std::to_string(n) +
                                          " blocks does not fit the " +
                                          std::to_string(free_blocks()) + " free"));
  if (live_ == 0)  // the log was empty: recovery must start at this transaction
    if (Status st = write_super(head_, blockdev::kBioSync | blockdev::kBioFua); !st.is_ok())
      return fail(st);
  std::span<const std::vector<std::byte>> all(img.blocks);
  if (Status st = write_log(head_, all.first(n - 1), blockdev::kBioSync); !st.is_ok())
    return fail(st);
  const uint32_t commit_at = js_.first + (head_ - js_.first + n - 1) % ring_;
  if (Status st = write_log(commit_at, all.last(1),
                            blockdev::kBioSync | blockdev::kBioPreflush | blockdev::kBioFua);
      !st.is_ok())
    return fail(st);
  head_ = js_.first + (head_ - js_.first + n) % ring_;
  live_ += n;
  ++sequence_;
  for (const auto& c : blocks) logged_.insert(c.block);
  ++commits_;
  copies_ += img.copies;
  log_blocks_ += n;
  revokes_ += revoked.size();
  return Status::ok();
}

Status Journal::checkpoint() {
  if (aborted_) return Status::error(EIO, "the journal was aborted by an earlier error");
  if (live_ == 0) return Status::ok();
  // The home blocks were written by the caller; durable before the log
  // stops covering them.
  if (Status st = cache_.flush_device(); !st.is_ok()) return fail(st);
  if (Status st = write_super(0, blockdev::kBioSync | blockdev::kBioFua); !st.is_ok())
    return fail(st);
  live_ = 0;
  logged_.clear();
  ++checkpoints_;
  return Status::ok();
}

}  // namespace cardfs::fusefs
