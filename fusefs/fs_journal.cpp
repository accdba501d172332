// Filesystem: the journal at mount (replay of a dirty journal).
#include <cstring>

#include "base/log.h"
#include "fusefs/context.h"
#include "fusefs/filesystem.h"
#include "fusefs/journal_recovery.h"

namespace cardfs::fusefs {

// Recovery's block I/O through the page cache: what it writes home is what
// the filesystem then reads, and sync_all() is the device flush.
// Recovery's and the commit path's block I/O through the page cache.
journal::BlockIo cache_block_io(cache::PageCache& cache) {
  journal::BlockIo io;
  io.read = [&cache](uint64_t block, std::span<std::byte> out) -> Status {
    CARDFS_ASSIGN_OR_RETURN(auto buf, cache.bread(block));
    buf.lock();
    std::memcpy(out.data(), buf.data().data(), out.size());
    buf.unlock();
    return Status::ok();
  };
  io.write = [&cache](uint64_t block, std::span<const std::byte> in) {
    return write_whole_block(cache, block, in);
  };
  io.flush = [&cache]() { return cache.sync_all(); };
  return io;
}

// Before anything else reads the filesystem's metadata: a journal left
// dirty by a crash is replayed (read-only mounts refuse it, as the
// filesystem they would show is not the committed one).
Status Filesystem::recover_journal(Superblock& sb) {
  if (!(sb.feature_compat & kCompatHasJournal)) return Status::ok();
  journal::BlockIo io = cache_block_io(cache_);
  CARDFS_ASSIGN_OR_RETURN(journal_, journal::locate(sb, io.read));
  CARDFS_ASSIGN_OR_RETURN(journal::JournalSuper js, journal::read_super(sb, journal_, io.read));
  if (js.start == 0) return Status::ok();
  // The daemon's read-only probe cannot check what replay will change:
  // the real (read-write) mount replays and checks.
  if (opts_.read_only && opts_.probe) {
    probe_needs_recovery_ = true;
    return Status::ok();
  }
  if (opts_.read_only)
    return Status::error(EROFS, "the journal needs recovery: mount read-write or run fsck.cardfs");
  CARDFS_ASSIGN_OR_RETURN(journal::RecoveryStats st, journal::recover(sb, journal_, io));
  logger("fusefs")->info("journal recovered: {} transactions, {} blocks replayed, {} revoked, "
                         "{} bad copies", st.transactions, st.replayed, st.revoked, st.bad_copies);
  recovery_ = st;
  return Status::ok();
}

}  // namespace cardfs::fusefs
