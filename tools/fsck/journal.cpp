// fsck and the journal: replay first (as e2fsck does), then the journal's
// blocks are metadata that pass 1 must not hand to anybody else.
#include "fusefs/journal_recovery.h"
#include "tools/fsck/checker.h"
#include "tools/fsck/super.h"

namespace cardfs::fsck {

using namespace fusefs;

namespace {

journal::BlockIo image_block_io(ImageIo& io, uint32_t bs) {
  journal::BlockIo b;
  b.read = [&io, bs](uint64_t block, std::span<std::byte> out) {
    return io.read(block * bs, out);
  };
  b.write = [&io, bs](uint64_t block, std::span<const std::byte> in) {
    return io.write(block * bs, in);
  };
  b.flush = [&io]() { return io.flush(); };
  return b;
}

}  // namespace

// A journal that cannot be read is left for check_journal to report.
Status Checker::replay_journal() {
  auto found = find_superblock(io_, o_.superblock);
  if (!found.is_ok() || !(found->sb.feature_compat & kCompatHasJournal)) return Status::ok();
  const Superblock& sb = found->sb;
  journal::BlockIo bio = image_block_io(io_, sb.block_size());
  auto ext = journal::locate(sb, bio.read);
  if (!ext.is_ok()) return Status::ok();
  auto js = journal::read_super(sb, *ext, bio.read);
  if (!js.is_ok() || js->start == 0) return Status::ok();
  if (o_.mode == Mode::kNo || io_.read_only()) {
    say("Warning: skipping journal recovery because doing a read-only filesystem check.");
    return Status::ok();
  }
  say(o_.name + ": recovering journal");
  CARDFS_ASSIGN_OR_RETURN(journal::RecoveryStats st, journal::recover(sb, *ext, bio));
  if (o_.verbose)
    say("Journal: " + std::to_string(st.transactions) + " transactions, " +
        std::to_string(st.replayed) + " blocks replayed, " + std::to_string(st.revoked) +
        " revoked, " + std::to_string(st.bad_copies) + " bad copies");
  blocks_.forget_cached();  // replay wrote home blocks behind the checker's cache
  return Status::ok();
}

Status Checker::check_journal() {
  if (!(sb_.feature_compat & kCompatHasJournal)) return Status::ok();
  auto read = [this](uint64_t block, std::span<std::byte> out) -> Status {
    CARDFS_ASSIGN_OR_RETURN(auto blk, read_block(block));
    std::copy(blk.begin(), blk.end(), out.begin());
    return Status::ok();
  };
  auto ext = journal::locate(sb_, read);
  Status why = ext.is_ok() ? journal::read_super(sb_, *ext, read).status() : ext.status();
  if (why.is_ok()) {
    journal_ = *ext;
    return Status::ok();
  }
  if (ask(Problem::kJournalBad, "The journal is invalid (" + why.message() + ").")) {
    sb_.feature_compat &= ~kCompatHasJournal;
    rewrite_super_ = true;
  }
  return Status::ok();
}

}  // namespace cardfs::fsck
