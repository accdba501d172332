// Filesystem: the journal's commit path — handles, commit, checkpoint,
// and fsync/sync over them (docs/journal.md "Commit").
#include <algorithm>

#include "base/log.h"
#include "fusefs/context.h"
#include "fusefs/filesystem.h"
#include "fusefs/groups.h"
#include "fusefs/inode.h"

namespace cardfs::fusefs {

journal::BlockIo cache_block_io(cache::PageCache& cache);  // fs_journal.cpp

Filesystem::Handle::Handle(Filesystem& fs) : fs_(fs) {
  if (!fs_.journal_log_) return;
  const Nanos start = fs_.clock_.now();
  if (fs_.gate_.enter()) fs_.journal_log_->add_wait(uint64_t((fs_.clock_.now() - start).count()));
}

Filesystem::Handle::~Handle() {
  if (!fs_.journal_log_) return;
  fs_.gate_.leave();
  const uint64_t per_page = std::max<uint32_t>(1, cache::kPageSize / fs_.sb_.block_size());
  if (fs_.cache_.transaction_pages() * per_page < fs_.journal_log_->max_transaction_blocks()) return;
  fs_.start_commit();
}

// After mount's recovery, before anything is changed: from here on the
// journal owns metadata write-back, and freed blocks wait for the commit.
Status Filesystem::open_journal() {
  if (opts_.read_only || !(sb_.feature_compat & kCompatHasJournal)) return Status::ok();
  journal::BlockIo io = cache_block_io(cache_);
  CARDFS_ASSIGN_OR_RETURN(journal::JournalSuper js, journal::read_super(sb_, journal_, io.read));
  if (js.maxlen < js.first + 8)
    return Status::error(EIO, "the journal has " + std::to_string(js.maxlen) + " blocks: too small");
  journal_log_ = std::make_unique<Journal>(cache_, sb_, journal_, js);
  cache_.set_metadata_hold(true);
  groups_->set_defer_frees(true);
  return Status::ok();
}

Status Filesystem::commit() {
  if (!journal_log_) return Status::ok();
  return commit_through(running_tid_.load(), false).status();
}

JournalCounters Filesystem::journal_counters() const {
  return journal_log_ ? journal_log_->counters() : JournalCounters{};
}

Result<bool> Filesystem::commit_through(uint64_t tid, bool checkpoint) {
  std::lock_guard lock(commit_mu_);
  if (committed_tid_.load() >= tid && !checkpoint) return false;
  gate_.close();
  Result<bool> r = commit_transaction(checkpoint);
  gate_.open();
  return r;
}

// With every handle out: the allocator's state into the cache, the
// ordered data to the card, then the transaction's blocks to the log.
// The cache's pages then hold exactly the committed filesystem, which is
// what makes a checkpoint here exact.
Result<bool> Filesystem::commit_transaction(bool checkpoint) {
  const std::vector<uint64_t> freed = groups_->release_deferred_frees();
  CARDFS_RETURN_IF_ERROR(groups_->flush());
  CARDFS_RETURN_IF_ERROR(write_super());
  std::vector<std::shared_ptr<cache::AddressSpace>> files;
  {
    std::lock_guard lock(ordered_mu_);
    for (auto& [ino, as] : ordered_) files.push_back(std::move(as));
    ordered_.clear();
  }
  CARDFS_RETURN_IF_ERROR(cache_.write_back_files(files));
  const std::vector<cache::PageCache::BlockCopy> blocks = cache_.take_transaction_blocks();
  const bool wrote = !blocks.empty() || !freed.empty();
  if (wrote) CARDFS_RETURN_IF_ERROR(journal_log_->commit(blocks, freed, now()));
  committed_tid_ = running_tid_.load();
  ++running_tid_;
  const cache::Tunables t = cache_.tunables();
  const uint64_t held_limit = t.cache_size / cache::kPageSize * t.dirty_background_ratio / 200;
  if (checkpoint || journal_log_->wants_checkpoint() || cache_.dirty_metadata_pages() > held_limit)
    CARDFS_RETURN_IF_ERROR(checkpoint_locked());
  return wrote;
}

Status Filesystem::checkpoint_locked() {
  CARDFS_RETURN_IF_ERROR(cache_.write_back_metadata());
  return journal_log_->checkpoint();
}

bool Filesystem::retry_after_commit(const Status& st) {
  if (st.is_ok() || st.code() != ENOSPC || !journal_log_) return false;
  if (groups_->deferred_free_count() == 0) return false;
  return commit().is_ok();
}

void Filesystem::note_ordered_locked(Inode& inode) {
  if (!journal_log_ || !inode.as) return;
  std::lock_guard lock(ordered_mu_);
  ordered_.emplace(inode.ino, inode.as);
}

// The file's data, waited for; then a commit only when the transaction
// that last stored the inode has not committed yet (for fdatasync: only
// when what finds the data changed, its size or block map). The commit's
// preflush makes the data durable too; without one, a cache flush does.
Status Filesystem::fsync_journaled(Inode& inode, bool datasync) {
  uint64_t tid = 0;
  bool was_dirty;
  std::shared_ptr<cache::AddressSpace> as;
  {
    std::lock_guard lock(inode.mu);
    was_dirty = inode.datasync_dirty;
    if ((!datasync || was_dirty) && inode.sync_tid > committed_tid_.load()) tid = inode.sync_tid;
    inode.datasync_dirty = false;
    as = inode.as;
  }
  // Without the inode's lock: a stat or a write of the file need not wait
  // for the card meanwhile (a write that lands now sets datasync_dirty
  // again, and is written here or by the next fsync).
  if (as) {
    if (Status st = cache_.write_back_range(*as, 0, ~0ull, true); !st.is_ok()) {
      std::lock_guard lock(inode.mu);
      inode.datasync_dirty |= was_dirty;
      return st;
    }
  }
  if (tid) {
    const Nanos start = clock_.now();
    Result<bool> r = wait_for_commit(tid);
    journal_log_->add_wait(uint64_t((clock_.now() - start).count()));
    if (!r.is_ok()) {
      std::lock_guard lock(inode.mu);
      inode.datasync_dirty |= was_dirty;
      return r.status();
    }
    if (*r) return Status::ok();
  }
  return cache_.flush_device();
}

// syncfs: every file's data, then a commit and a checkpoint, so that the
// image's home blocks alone hold the filesystem (fsck -n, inspect).
Status Filesystem::sync_journaled() {
  CARDFS_RETURN_IF_ERROR(cache_.sync_all());  // data only: metadata is held
  return commit_through(running_tid_.load(), true).status();
}

// Unmount: the last commit and checkpoint leave the journal empty; the
// cache then writes metadata as it would without a journal.
Status Filesystem::close_journal() {
  stop_journal_thread();
  CARDFS_RETURN_IF_ERROR(sync_journaled());
  groups_->set_defer_frees(false);
  cache_.set_metadata_hold(false);
  return Status::ok();
}

}  // namespace cardfs::fusefs
