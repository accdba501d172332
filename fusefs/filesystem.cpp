// Filesystem: mount, unmount, attributes, inode lifetime, sync.
#include "fusefs/filesystem.h"

#include <sys/stat.h>

#include <cstring>

#include "base/log.h"
#include "blockdev/block_device.h"
#include "fusefs/block_map.h"
#include "fusefs/context.h"
#include "fusefs/directory.h"
#include "fusefs/groups.h"
#include "fusefs/inode.h"
#include "fusefs/orphan.h"
#include "fusefs/xattr.h"

namespace cardfs::fusefs {

Result<Superblock> read_superblock(blockdev::BlockDevice& dev, bool read_only) {
  std::vector<std::byte> buf(kSuperblockSize);
  auto bio = std::make_unique<blockdev::Bio>();
  bio->op = blockdev::BioOp::kRead;
  bio->sector = kSuperblockOffset / blockdev::kSectorSize;
  bio->flags = blockdev::kBioSync | blockdev::kBioMeta;
  bio->segments.push_back({buf.data(), kSuperblockSize});
  if (int rc = blockdev::submit_and_wait(dev, std::move(bio)); rc < 0)
    return Status::error(-rc, "reading the superblock");
  return decode_superblock(buf, read_only);
}

Filesystem::Filesystem(cache::PageCache& cache, Clock& clock, MountOptions opts)
    : cache_(cache), clock_(clock), opts_(std::move(opts)) {}

Filesystem::~Filesystem() { stop_journal_thread(); }

Result<std::unique_ptr<Filesystem>> Filesystem::mount(cache::PageCache& cache, Clock& clock,
                                                      uint32_t block_size, MountOptions opts) {
  std::unique_ptr<Filesystem> fs(new Filesystem(cache, clock, std::move(opts)));
  CARDFS_RETURN_IF_ERROR(fs->load(block_size).with_context("mount"));
  return fs;
}

Result<Superblock> Filesystem::read_primary_super(uint32_t block_size) {
  Superblock probe;
  probe.log_block_size = block_size == 1024 ? 0 : block_size == 2048 ? 1 : 2;
  BlockOffset at = superblock_location(probe, 0);
  CARDFS_ASSIGN_OR_RETURN(auto buf, cache_.bread(at.block));
  buf.lock();
  auto sb = decode_superblock(buf.data().subspan(at.offset, kSuperblockSize), opts_.read_only);
  buf.unlock();
  return sb;
}

Status Filesystem::load(uint32_t block_size) {
  CARDFS_ASSIGN_OR_RETURN(sb_, read_primary_super(block_size));
  if (sb_.block_size() == block_size) {
    CARDFS_RETURN_IF_ERROR(recover_journal(sb_));
    // Replay may have rewritten the superblock's own block.
    if (recovery_.needed) {
      CARDFS_ASSIGN_OR_RETURN(sb_, read_primary_super(block_size));
    }
    if (probe_needs_recovery_) return Status::ok();  // nothing more to check before replay
  }
  if (sb_.block_size() != block_size)
    return Status::error(EINVAL, "filesystem block size " + std::to_string(sb_.block_size()) +
                                     " differs from the cache's " + std::to_string(block_size));
  if ((sb_.state & kStateErrors) && !opts_.read_only)
    return Status::error(EUCLEAN, "filesystem has errors: run fsck.cardfs first");
  if (!(sb_.state & kStateClean) && !opts_.probe)
    logger("fusefs")->warn("mounting a filesystem that was not cleanly unmounted");
  CARDFS_ASSIGN_OR_RETURN(groups_, BlockGroups::load(cache_, sb_));
  const std::array<uint32_t, 4> seed = sb_.hash_seed;
  hash_ = opts_.hash_override ? opts_.hash_override
                              : [seed](std::string_view n) { return seeded_name_hash(seed, n); };
  minor_hash_ = opts_.minor_hash_override
                    ? opts_.minor_hash_override
                    : [seed](std::string_view n) { return seeded_minor_hash(seed, n); };
  dir_index_ = sb_.feature_compat & kCompatDirIndex;
  ctx_.reset(new Context{cache_, *groups_, sb_, sb_.block_size(), sb_.csum_seed(),
                         sb_.block_size() / 4, [this](const Status& s) { report(s); }});
  ctx_->unwritten = sb_.feature_incompat & kIncompatUnwritten;
  itable_ = std::make_unique<InodeTable>(*ctx_);
  orphans_ = std::make_unique<OrphanList>(*ctx_);
  ctx_->orphans = orphans_.get();
  CARDFS_ASSIGN_OR_RETURN(auto root, itable_->get(kRootIno));
  if (!S_ISDIR(root->d.mode)) return Status::error(EIO, "root inode is not a directory");
  next_generation_ = sb_.csum_seed() ^ uint32_t(sb_.mount_count) << 16;
  if (opts_.read_only) return Status::ok();
  CARDFS_RETURN_IF_ERROR(open_journal());  // mount's own changes are journaled too
  Handle txn(*this);
  orphans_->load(sb_.last_orphan);
  CARDFS_RETURN_IF_ERROR(free_orphans());
  {
    std::lock_guard lock(sb_mu_);
    sb_.mount_count++;
    sb_.mount_time = uint64_t(now().sec);
    sb_.state &= ~kStateClean;  // until unmount() says otherwise
  }
  return write_super();
}

Timespec Filesystem::now() const {
  int64_t ns = (clock_.now() + opts_.wall_offset).count();
  return {ns / 1000000000, uint32_t(ns % 1000000000)};
}

void Filesystem::report(const Status& s) {
  logger("fusefs")->error("corruption: {}", s.message());
  errors_ = true;
}

Status Filesystem::writable() const {
  if (opts_.read_only) return Status::error(EROFS, "mounted read-only");
  if (journal_log_ && journal_log_->aborted())
    return Status::error(EROFS, "the journal was aborted by a write error: remount after fsck.cardfs");
  return Status::ok();
}

Result<std::shared_ptr<Inode>> Filesystem::get_inode(Ino ino) {
  if (ino == 0 || ino > sb_.inodes_count) return Status::error(ENOENT, "no such inode");
  CARDFS_ASSIGN_OR_RETURN(auto inode, itable_->get(uint32_t(ino)));
  if (inode->type == S_IFREG) attach_address_space(inode);
  trim_inodes();
  return inode;
}

// Past the limit, drops unused inodes down to three quarters of it. When
// most are in use (the kernel holds them), the next scan waits until the
// table has grown by another quarter: a scan per load would be quadratic.
void Filesystem::trim_inodes() {
  const size_t limit = std::max<size_t>(opts_.inode_cache_limit, 16);
  const size_t size = itable_->size();
  if (size <= std::max<size_t>(limit, next_trim_.load())) return;
  inodes_evicted_ += itable_->evict(limit * 3 / 4, [this](Inode& in) { return evictable(in); });
  next_trim_ = itable_->size() + limit / 4;
}

// Nobody holds the inode (the table checked); it must also be unknown to
// the kernel and have no dirty or in-flight pages. (What fdatasync owes is
// not lost: a reloaded inode starts datasync_dirty, inode.cpp.)
bool Filesystem::evictable(Inode& in) {
  if (in.ino == kRootIno) return false;
  std::unique_lock lock(in.mu, std::try_to_lock);
  if (!lock.owns_lock() || in.lookups || in.opens) return false;
  if (!in.map_mu.try_lock()) return false;
  const bool forgotten = !in.as || cache_.forget_clean_address_space(*in.as);
  if (forgotten) groups_->release(in.res);
  in.map_mu.unlock();
  return forgotten;
}

void Filesystem::attach_address_space(const std::shared_ptr<Inode>& inode) {
  MutexLock lock(inode->map_mu);
  if (inode->as) return;
  std::weak_ptr<Inode> weak = inode;
  Context* ctx = ctx_.get();
  inode->as = cache_.create_address_space(
      inode->ino, [ctx, weak](uint64_t fb, bool create) -> Result<cache::BlockMapping> {
        auto in = weak.lock();
        if (!in) return Status::error(EIO, "inode gone");
        MutexLock lock(in->map_mu);
        CARDFS_ASSIGN_OR_RETURN(Mapped m, map_block_locked(*ctx, *in, fb, create));
        // An unwritten block reads as a hole: zeros, no device read.
        return cache::BlockMapping{m.block != 0 && !m.unwritten, m.block * (ctx->bs / 512), m.fresh,
                                   std::move(m.metadata)};
      });
}

Status Filesystem::store(Inode& inode) {
  inode.sync_tid = running_tid_.load();  // what fsync must see committed
  return itable_->store(inode);
}

Attr Filesystem::attr_of(Inode& inode) {
  Attr a;
  a.ino = inode.ino;
  a.mode = inode.d.mode;
  a.nlink = inode.d.links_count;
  a.uid = inode.d.uid;
  a.gid = inode.d.gid;
  a.rdev = inode.d.rdev;
  a.size = inode.d.size;
  {
    MutexLock lock(inode.map_mu);
    a.blocks = inode.d.blocks;
  }
  a.blksize = sb_.block_size();
  a.generation = inode.d.generation;
  a.atime = inode.d.atime;
  a.mtime = inode.d.mtime;
  a.ctime = inode.d.ctime;
  a.crtime = inode.d.crtime;
  return a;
}

bool Filesystem::atime_due_locked(const Inode& inode) const {
  if (opts_.read_only || opts_.atime == AtimePolicy::kNoatime) return false;
  const DiskInode& d = inode.d;
  // relatime: only when older than the last change, or a day old
  return opts_.atime != AtimePolicy::kRelatime || d.atime <= d.mtime || d.atime <= d.ctime ||
         now().sec - d.atime.sec >= 24 * 3600;
}

void Filesystem::open_atime_handle(std::optional<Handle>& txn, std::unique_lock<std::mutex>& lock) {
  lock.unlock();
  txn.emplace(*this);
  lock.lock();
}

void Filesystem::touch_atime_locked(Inode& inode) {
  if (!atime_due_locked(inode)) return;
  inode.d.atime = now();
  (void)store(inode);
}

Result<Attr> Filesystem::getattr(Ino ino) {
  CARDFS_ASSIGN_OR_RETURN(auto inode, get_inode(ino));
  std::lock_guard lock(inode->mu);
  return attr_of(*inode);
}

Result<Attr> Filesystem::setattr(Ino ino, const SetAttr& sa) {
  Handle txn(*this);
  CARDFS_RETURN_IF_ERROR(writable());
  CARDFS_ASSIGN_OR_RETURN(auto inode, get_inode(ino));
  std::lock_guard lock(inode->mu);
  const Timespec t = now();
  if (sa.size) CARDFS_RETURN_IF_ERROR(truncate_locked(*inode, *sa.size));
  if (sa.mode) {
    CARDFS_RETURN_IF_ERROR(chmod_acl_locked(*inode, *sa.mode));
    inode->d.mode = uint16_t((inode->d.mode & S_IFMT) | (*sa.mode & 07777));
  }
  if (sa.uid) inode->d.uid = *sa.uid;
  if (sa.gid) inode->d.gid = *sa.gid;
  if (sa.atime != SetAttr::Time::kKeep)
    inode->d.atime = sa.atime == SetAttr::Time::kNow ? t : sa.atime_value;
  if (sa.mtime != SetAttr::Time::kKeep)
    inode->d.mtime = sa.mtime == SetAttr::Time::kNow ? t : sa.mtime_value;
  inode->d.ctime = t;
  CARDFS_RETURN_IF_ERROR(store(*inode));
  return attr_of(*inode);
}

// A forget of an inode that still has a name changes nothing on the card
// (the count and the reservation window are memory only), so it takes no
// journal handle: it never waits for a commit. That matters on the FUSE
// loop's one thread, where the kernel's FORGETs of evicted inodes (100 000
// after a drop_caches over a large directory) come ahead of the LOOKUPs
// queued behind them, and a forget waiting for a commit's checkpoint would
// hold up every lookup for as long. Only an unlinked inode's forget, which
// may free it, opens a handle (taken before the inode's lock, as always).
void Filesystem::forget(Ino ino, uint64_t nlookup) {
  auto inode = get_inode(ino);
  if (!inode.is_ok()) return;
  Inode& in = **inode;
  {
    std::lock_guard lock(in.mu);
    in.lookups -= std::min(in.lookups, nlookup);
    if (in.lookups == 0) {
      MutexLock map_lock(in.map_mu);
      groups_->release(in.res);
    }
    // What maybe_free_locked does nothing for.
    if (in.freed || in.d.links_count > 0 || opts_.read_only) return;
  }
  Handle txn(*this);  // the last forget of an unlinked inode frees it
  std::lock_guard lock(in.mu);
  maybe_free_locked(in);
}

Status Filesystem::open(Ino ino) {
  CARDFS_ASSIGN_OR_RETURN(auto inode, get_inode(ino));
  std::lock_guard lock(inode->mu);
  if (inode->freed || inode->data_freed) return Status::error(ENOENT, "inode removed");
  ++inode->opens;
  return Status::ok();
}

void Filesystem::release(Ino ino) {
  Handle txn(*this);  // the last close of an unlinked file frees its blocks
  auto inode = get_inode(ino);
  if (!inode.is_ok()) return;
  std::lock_guard lock((*inode)->mu);
  Inode& in = **inode;
  if (in.opens) --in.opens;
  {
    MutexLock map_lock(in.map_mu);
    groups_->release(in.res);
  }
  maybe_free_locked(in);
}

// Called whenever a count of inode drops. Its blocks go back as soon as no
// name and no open handle is left, not when the kernel forgets the number
// (a FORGET comes whenever the kernel evicts its inode, often 0.1 s after
// the unlink returned, and an `rm big; dd` would see ENOSPC meanwhile).
// store_due: the caller changed the inode and left its store to this
// function (an unlink of the last link: the record is written once, with
// its orphan link and emptied block map, or erased).
void Filesystem::maybe_free_locked(Inode& inode, bool store_due) {
  Status st = Status::ok();
  if (inode.freed || inode.d.links_count > 0 || opts_.read_only) {
    if (store_due) st = store(inode);
  } else if (inode.lookups == 0 && inode.opens == 0) {
    // Stored first all the same (rare through FUSE: the kernel holds a
    // lookup at the unlink): should the free fail before it erases the
    // record, the card shows links 0, which fsck frees, not a nameless
    // inode with a link it would bring back to /lost+found.
    if (store_due) st = store(inode);
    if (st.is_ok()) st = free_inode_locked(inode);
  } else {
    st = orphan_locked(inode, store_due);
  }
  if (!st.is_ok()) logger("fusefs")->error("freeing inode {}: {}", inode.ino, st.to_string());
}

// Still in use: on the orphan list until it is freed, so that a crash
// meanwhile cannot leave it for fsck to bring back; a closed file's blocks
// go back now. With a journal the list's head reaches the card only in a
// commit, whose write_super takes the head it finds then, so the unlink
// does not write the superblock: an inode unlinked and forgotten within
// one transaction (an rm of a file that is not open: the kernel's FORGET
// follows within a fraction of a second) never shows on the list on the
// card, as with ext4, whose unlink and eviction share a transaction.
Status Filesystem::orphan_locked(Inode& inode, bool store_due) {
  const bool added = orphans_->add(inode.ino);
  const bool free_data = inode.opens == 0 && S_ISREG(inode.d.mode) && !inode.data_freed;
  if (free_data) CARDFS_RETURN_IF_ERROR(free_data_locked(inode));
  if (added || free_data || store_due) CARDFS_RETURN_IF_ERROR(store(inode));  // with its link
  return added && !journal_log_ ? write_super() : Status::ok();  // the head names it
}

// After an unclean stop, the inodes the orphan list holds have no name and
// nobody uses them any more: they are freed (ext4's orphan cleanup).
Status Filesystem::free_orphans() {
  const std::vector<uint32_t> list = orphans_->inodes();
  if (list.empty()) return Status::ok();
  logger("fusefs")->info("freeing {} orphan inode(s) unlinked before an unclean stop", list.size());
  for (uint32_t ino : list) {
    auto inode = itable_->get(ino, /*unlinked_ok=*/true);
    if (!inode.is_ok()) {
      CARDFS_RETURN_IF_ERROR(orphans_->remove(ino));
      continue;
    }
    std::lock_guard lock((*inode)->mu);
    if ((*inode)->d.links_count > 0) {  // linked again before the stop: only off the list
      CARDFS_RETURN_IF_ERROR(orphans_->remove(ino));
      CARDFS_RETURN_IF_ERROR(store(**inode));
      continue;
    }
    CARDFS_RETURN_IF_ERROR(free_inode_locked(**inode));
  }
  return write_super();
}

// The blocks of an unlinked, closed regular file whose number the kernel
// still holds: getattr then shows an empty file, open is ENOENT. The
// caller stores the inode.
Status Filesystem::free_data_locked(Inode& inode) {
  inode.data_freed = true;
  if (inode.as) cache_.truncate_pages(*inode.as, 0);
  {
    MutexLock lock(inode.map_mu);
    CARDFS_RETURN_IF_ERROR(free_blocks_locked(*ctx_, inode, 0, max_file_blocks(ctx_->ptrs)));
    free_xattr_block_locked(*ctx_, inode);
    groups_->release(inode.res);
  }
  inode.d.size = 0;
  return Status::ok();
}

Status Filesystem::free_inode_locked(Inode& inode) {
  inode.freed = true;
  if (inode.as) cache_.truncate_pages(*inode.as, 0);
  const bool inline_link = S_ISLNK(inode.d.mode) && inode.d.size <= kInlineSymlinkMax;
  if (!inline_link) {
    MutexLock lock(inode.map_mu);
    CARDFS_RETURN_IF_ERROR(free_blocks_locked(*ctx_, inode, 0, max_file_blocks(ctx_->ptrs)));
  }
  {
    MutexLock lock(inode.map_mu);
    free_xattr_block_locked(*ctx_, inode);
    groups_->release(inode.res);
  }
  if (inode.as) cache_.destroy_address_space(*inode.as);
  const bool orphan = orphans_->contains(inode.ino);
  CARDFS_RETURN_IF_ERROR(orphans_->remove(inode.ino));  // before its record goes
  CARDFS_RETURN_IF_ERROR(itable_->erase(inode.ino));
  groups_->free_inode(inode.ino, S_ISDIR(inode.d.mode));
  return orphan && !journal_log_ ? write_super() : Status::ok();  // journal: the commit writes it
}

Result<StatFs> Filesystem::statfs() {
  StatFs s;
  s.block_size = sb_.block_size();
  s.blocks = sb_.blocks_count;
  // Blocks freed by the running transaction count as free, as ext4 counts
  // them: an allocation that needs them commits first (retry_after_commit).
  s.free_blocks = groups_->free_blocks() + groups_->deferred_free_count();
  s.avail_blocks = s.free_blocks > sb_.reserved_blocks ? s.free_blocks - sb_.reserved_blocks : 0;
  s.files = sb_.inodes_count;
  s.free_files = groups_->free_inodes();
  return s;
}

Status Filesystem::write_super() {
  std::lock_guard writer(super_write_mu_);  // the cached copy and sb_last_ agree
  std::byte rec[kSuperblockSize];
  Superblock written;
  const uint32_t orphan_head = orphans_ ? orphans_->head() : 0;  // its lock is not under sb_mu_
  {
    std::lock_guard lock(sb_mu_);
    sb_.last_orphan = orphan_head;
    if (orphan_head) sb_.feature_ro_compat |= kRoCompatOrphanPresent;
    else sb_.feature_ro_compat &= ~kRoCompatOrphanPresent;
    sb_.free_blocks = groups_->free_blocks();
    sb_.free_inodes = groups_->free_inodes();
    if (errors_) sb_.state |= kStateErrors;
    sb_.block_group_nr = 0;
    // Unchanged counts and state: no write. Every fsync and the periodic
    // metadata flush come here, and a dirty superblock each time would cost
    // an fsync with nothing else to write a card write and a card flush.
    // Compared as fields, not as an encoded record: an unlink comes here
    // twice (the orphan list's head), and write_super was 10 % of the
    // daemon's samples in an unlink loop, most of it encoding the record
    // twice (to compare, then to write), each with its CRC.
    if (sb_written_ && sb_ == sb_last_) return Status::ok();
    sb_.write_time = uint64_t(now().sec);
    written = sb_;
  }
  encode_superblock(written, rec);
  BlockOffset at = superblock_location(written, 0);
  CARDFS_ASSIGN_OR_RETURN(auto buf, cache_.bread(at.block));
  buf.lock();
  std::memcpy(buf.data().data() + at.offset, rec, kSuperblockSize);
  buf.unlock();
  buf.mark_dirty(at.offset, kSuperblockSize);
  std::lock_guard lock(sb_mu_);
  sb_last_ = written;
  sb_written_ = true;
  return Status::ok();
}

// Turns kIncompatUnwritten on for an image made before it existed (older
// code then refuses the image, as it must once pointers carry the mark).
Status Filesystem::enable_unwritten() {
  if (ctx_->unwritten) return Status::ok();
  {
    std::lock_guard lock(sb_mu_);
    if (sb_.blocks_count > kUnwrittenMaxBlocks)
      return Status::error(EOPNOTSUPP, "fallocate: unwritten blocks need fewer than 2^31 blocks");
    sb_.feature_incompat |= kIncompatUnwritten;
  }
  ctx_->unwritten = true;
  logger("fusefs")->info("unwritten blocks enabled (incompatible feature 0x{:x})", kIncompatUnwritten);
  return write_super();
}

Status Filesystem::flush_metadata() {
  // With a journal, metadata reaches the cache and the card by commits.
  if (opts_.read_only || journal_log_) return Status::ok();
  CARDFS_RETURN_IF_ERROR(groups_->flush());
  return write_super();
}

Status Filesystem::sync() {
  if (journal_log_) return sync_journaled();
  CARDFS_RETURN_IF_ERROR(flush_metadata());
  return cache_.sync_all();
}

Status Filesystem::unmount() {
  if (opts_.read_only) return Status::ok();
  {
    Handle txn(*this);
    for (auto& inode : itable_->all()) {
      std::lock_guard lock(inode->mu);
      if (inode->d.links_count == 0 && !inode->freed) {
        inode->lookups = inode->opens = 0;
        maybe_free_locked(*inode);
      }
      MutexLock map_lock(inode->map_mu);
      groups_->release(inode->res);
    }
    std::lock_guard lock(sb_mu_);
    sb_.state |= kStateClean;
  }
  if (journal_log_) return close_journal();
  return sync();
}

Result<DiskInode> Filesystem::inspect_inode(Ino ino) {
  CARDFS_ASSIGN_OR_RETURN(auto inode, get_inode(ino));
  std::lock_guard lock(inode->mu);
  MutexLock map_lock(inode->map_mu);
  return inode->d;
}

Result<uint64_t> Filesystem::bmap(Ino ino, uint64_t file_block) {
  CARDFS_ASSIGN_OR_RETURN(auto inode, get_inode(ino));
  MutexLock lock(inode->map_mu);
  CARDFS_ASSIGN_OR_RETURN(Mapped m, map_block_locked(*ctx_, *inode, file_block, false));
  return m.block;
}

Result<uint64_t> Filesystem::seek_data_or_hole(Ino ino, uint64_t offset, bool data) {
  CARDFS_ASSIGN_OR_RETURN(auto inode, get_inode(ino));
  uint64_t size = 0;
  {
    std::lock_guard lock(inode->mu);
    size = inode->d.size;
  }
  if (offset >= size) return Status::error(ENXIO, "past the end");
  MutexLock lock(inode->map_mu);
  const uint64_t bs = uint64_t(ctx_->ptrs) * 4;
  const uint64_t end = (size + bs - 1) / bs;
  CARDFS_ASSIGN_OR_RETURN(uint64_t fb, seek_mapping_locked(*ctx_, *inode, offset / bs, end, data));
  if (fb == end) {
    if (data) return Status::error(ENXIO, "no data after offset");
    return size;  // the implicit hole at the end
  }
  return std::max(offset, fb * bs);
}

Superblock Filesystem::superblock() const {
  std::lock_guard lock(sb_mu_);
  return sb_;
}

Status Filesystem::check_free_counts() const {
  uint64_t blocks = 0, inodes = 0;
  for (uint32_t g = 0; g < groups_->group_count(); ++g) {
    GroupCounts d = groups_->counts(g), b = groups_->count_bitmaps(g);
    if (d.free_blocks != b.free_blocks || d.free_inodes != b.free_inodes)
      return Status::error(EIO, "group " + std::to_string(g) + ": descriptor says " +
                                    std::to_string(d.free_blocks) + "/" +
                                    std::to_string(d.free_inodes) + " free, bitmaps " +
                                    std::to_string(b.free_blocks) + "/" +
                                    std::to_string(b.free_inodes));
    blocks += b.free_blocks;
    inodes += b.free_inodes;
  }
  if (blocks != groups_->free_blocks() || inodes != groups_->free_inodes())
    return Status::error(EIO, "filesystem free totals differ from the groups'");
  return Status::ok();
}

FsCounters Filesystem::counters() const {
  return {dir_blocks_read_.load(), lookups_.load(), itable_->size(), inodes_evicted_.load()};
}

}  // namespace cardfs::fusefs
