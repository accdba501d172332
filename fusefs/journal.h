// Journal: the writing side of cardfs's jbd2-style journal (ordered mode).
//
// The ring of docs/journal.md, written as jbd2 writes it on a device with
// a volatile cache (mmcblk):
//   commit()      descriptor(s), the copies and the revoke block(s) as
//                 sync writes (WS), waited for; then the commit block with
//                 preflush + FUA (FWFS): every log block, and whatever
//                 data was written before (ordered mode, the caller's), is
//                 durable before the commit block can be. When the log was
//                 empty, the journal superblock is first pointed at this
//                 transaction (FUA), as jbd2 does after a flushed journal.
//   checkpoint()  after the caller wrote every logged block home (the
//                 page cache's write_back_metadata): a flush, then the
//                 journal superblock marked empty (FUA): nothing to replay.
// Revokes: a home block logged since the last checkpoint and then freed
// is revoked in the transaction that frees it, so that replaying an older
// copy never overwrites what the block holds after its reuse.
//
// The caller (Filesystem) serialises every call and keeps every writer of
// metadata away during commit() and checkpoint(). counters() may be read
// from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <span>
#include <unordered_set>
#include <vector>

#include "base/status.h"
#include "base/thread_annotations.h"
#include "cache/page_cache.h"
#include "fusefs/journal_format.h"

namespace cardfs::fusefs {

struct JournalCounters {
  uint64_t commits = 0;        // transactions committed
  uint64_t blocks_logged = 0;  // metadata copies written to the log
  uint64_t log_blocks = 0;     // every block written to the log (descriptors, revokes, commits)
  uint64_t revokes = 0;        // revoke records written
  uint64_t checkpoints = 0;    // times the log was written home and emptied
  uint64_t wait_ns = 0;        // operations and fsyncs waiting on the journal
};

// Handles (shared) against a commit (exclusive), as jbd2's t_updates and
// T_LOCKED: a commit closes the gate, which stops new handles and waits
// until the open ones end; opening it lets the waiting ones in. A thread
// holding a handle must not take another (it would wait for a commit
// that waits for it).
class TransactionGate {
 public:
  // Returns true when it had to wait for a commit.
  bool enter();
  void leave();
  void close();
  void open();
  // Whether a commit holds the gate closed now (enter() would wait): a
  // hint, read without the lock.
  bool closed_now() const { return closed_hint_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> closed_hint_{false};
  Mutex mu_;
  std::condition_variable_any cv_;
  uint64_t handles_ CARDFS_GUARDED_BY(mu_) = 0;
  bool closed_ CARDFS_GUARDED_BY(mu_) = false;
};

class Journal {
 public:
  Journal(cache::PageCache& cache, const Superblock& sb, journal::JournalExtent ext,
          journal::JournalSuper js);

  // Log blocks a transaction of `logged` copies and `freed` frees needs,
  // at most (every freed block revoked).
  uint32_t blocks_needed(size_t logged, size_t freed) const;
  // Log blocks not holding a live (not checkpointed) transaction.
  uint32_t free_blocks() const { return ring_ - live_; }
  // The caller commits before the running transaction grows past this
  // (a quarter of the ring, jbd2's j_max_transaction_buffers), and
  // checkpoints once live blocks pass half the ring: the next transaction
  // then always fits.
  uint32_t max_transaction_blocks() const { return ring_ / 4; }
  bool wants_checkpoint() const { return live_ > ring_ / 2; }

  // Writes transaction `sequence()` (see above). EIO and the journal is
  // aborted (every later call fails) when a write fails; ENOSPC when it
  // cannot fit the free blocks.
  Status commit(std::span<const cache::PageCache::BlockCopy> blocks,
                std::span<const uint64_t> freed, const Timespec& time);
  Status checkpoint();
  uint32_t sequence() const { return sequence_; }
  bool aborted() const { return aborted_; }

  JournalCounters counters() const;
  void add_wait(uint64_t ns) { wait_ns_ += ns; }

 private:
  Status write_log(uint32_t at, std::span<const std::vector<std::byte>> blocks, uint32_t flags);
  Status write_super(uint32_t start, uint32_t flags);
  Status fail(Status st);

  cache::PageCache& cache_;
  const uint32_t bs_, seed_;
  const journal::JournalExtent ext_;
  journal::JournalSuper js_;
  const uint32_t ring_;        // log blocks: maxlen - first
  uint32_t head_;              // next log block to write
  uint32_t live_ = 0;          // log blocks since the last checkpoint
  uint32_t sequence_;          // the next transaction's
  bool aborted_ = false;
  std::unordered_set<uint64_t> logged_;  // home blocks logged since the last checkpoint
  std::atomic<uint64_t> commits_{0}, copies_{0}, log_blocks_{0}, revokes_{0}, checkpoints_{0},
      wait_ns_{0};
};

}  // namespace cardfs::fusefs
