// Filesystem: cardfs's ext2-style filesystem, independent of FUSE.
//
// The API mirrors FUSE's low-level operations: inodes are numbers, names
// are looked up in a parent, and every call returns a Status/Result whose
// errno is what a local Linux filesystem gives (ENOENT, EEXIST, ENOTEMPTY,
// ENOSPC, ENAMETOOLONG, EFBIG, EMLINK, ENOTDIR, EISDIR, EINVAL ...).
// Permission checks are the caller's (the FUSE adapter: the kernel's with
// default_permissions, else fusefs/fuse/permissions.h); Creds only name
// the owner of new inodes.
//
// Lookup counts: lookup, mknod, mkdir, symlink and link add one to the
// returned inode's count, forget() takes them away. Open counts: open()
// adds one, release() takes it away. A regular file whose link count and
// open count are both 0 gives its blocks back at once (when unlink or
// release returns the space is allocatable), though the kernel may still
// hold its number; an inode whose link count and lookup count are both 0
// is freed; unmount() frees the ones whose link count is 0 whatever their
// counts.
//
// Data goes through the page cache: read/write use one AddressSpace per
// regular file, with this filesystem's block map as its GetBlock; metadata
// blocks (inodes, directories, indirect blocks, bitmaps) use bread().
// Allocation state (bitmaps, group descriptors, superblock counts) is kept
// in memory and copied into the cache by sync(), fsync(), unmount() and
// flush_metadata() (which a daemon calls periodically).
//
// Journal (when the image has one, docs/journal.md): every operation that
// may change metadata runs inside a handle on the running transaction, and
// a commit waits until none is open, so an operation lands in one
// transaction whole. Metadata reaches its home blocks only through a
// checkpoint, after its commit.
//
// Thread-safety: every method may be called from any thread concurrently.
// Lock order, outermost first:
//   commit_mu_ (a commit) -> the transaction gate (a handle, or a commit
//   closing it) -> rename_mu_ (rename only) -> directory Inode::mu (by inode number) ->
//   non-directory Inode::mu (by inode number) -> Inode::map_mu ->
//   allocator locks (BlockGroups: windows -> group) -> the orphan list's
//   lock -> buffer locks -> sb_mu_.
// The inode order is static (not "ancestor first", which renames change):
// a child found under its parent that sorts before it (a subdirectory with
// a smaller number) is locked by releasing the parent and taking both in
// order, then looking the name up again (InodeLocks, inode.h). A fresh
// inode in create is try-locked under its parent, outside the order:
// nothing else can reach it yet.
// Inode::mu may be held across device I/O (as Linux's i_rwsem); map_mu only
// across reads of indirect blocks; the allocator's locks never.
// readdir()'s callback runs with the directory's lock held: it must not
// call back into the Filesystem.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "cache/page_cache.h"
#include "fusefs/journal.h"
#include "fusefs/journal_recovery.h"
#include "fusefs/layout.h"

namespace cardfs::blockdev {
class BlockDevice;
}

namespace cardfs::fusefs {

class BlockGroups;
class Directory;
struct DirHit;
class InodeTable;
class OrphanList;
struct Inode;
struct Context;

using Ino = uint64_t;

struct Attr {
  Ino ino = 0;
  uint32_t mode = 0;
  uint32_t nlink = 0;
  uint32_t uid = 0, gid = 0;
  uint32_t rdev = 0;
  uint64_t size = 0;
  uint64_t blocks = 0;  // 512-byte units, as st_blocks
  uint32_t blksize = 0;
  uint32_t generation = 0;
  Timespec atime, mtime, ctime, crtime;
};

struct SetAttr {
  enum class Time { kKeep, kNow, kSet };
  std::optional<uint32_t> mode;  // permission bits only (07777)
  std::optional<uint32_t> uid, gid;
  std::optional<uint64_t> size;
  Time atime = Time::kKeep, mtime = Time::kKeep;
  Timespec atime_value, mtime_value;
};

struct Creds {
  uint32_t uid = 0, gid = 0;
};

struct DirEntry {
  std::string_view name;
  Ino ino = 0;
  uint8_t type = 0;          // FileType (DT_* values)
  uint64_t cookie = 0;       // its own position: readdir() from here lists it again
  uint64_t next_cookie = 0;  // pass to readdir() to continue after this entry
};

struct StatFs {
  uint32_t block_size = 0;
  uint64_t blocks = 0, free_blocks = 0, avail_blocks = 0;
  uint64_t files = 0, free_files = 0;
  uint32_t name_max = kMaxNameLen;
};

enum class AtimePolicy { kRelatime, kStrictatime, kNoatime };

struct MountOptions {
  bool read_only = false;
  // A look before the real mount (the daemon's probe, which then mounts
  // for real): says nothing about the image, so each warning comes once.
  bool probe = false;
  AtimePolicy atime = AtimePolicy::kRelatime;
  // Added to clock.now() to get wall time for timestamps (the daemon passes
  // CLOCK_REALTIME - CLOCK_MONOTONIC; tests leave 0 with a VirtualClock).
  Nanos wall_offset{0};
  // In-memory inodes kept at most (beyond those in use: looked up by the
  // kernel, open, or with dirty pages); the rest are read again when needed.
  size_t inode_cache_limit = 16384;
  // Tests only: replace the directory name hash (e.g. to force collisions)
  // and the second hash that completes a name's listing position.
  std::function<uint32_t(std::string_view)> hash_override;
  std::function<uint32_t(std::string_view)> minor_hash_override;
};

struct FsCounters {
  uint64_t dir_blocks_read = 0;  // directory blocks visited (index + leaves)
  uint64_t lookups = 0;
  uint64_t inodes_cached = 0;   // in the in-memory inode table now
  uint64_t inodes_evicted = 0;  // dropped from it so far
};

// rename() flags (values of Linux's RENAME_*).
inline constexpr uint32_t kRenameNoReplace = 1;
inline constexpr uint32_t kRenameExchange = 2;
// The source name is left holding a whiteout (a character device 0/0, owned
// by the rename's caller), atomically with the rename: overlayfs's upper.
inline constexpr uint32_t kRenameWhiteout = 4;

// Reads and checks the primary superblock straight from the device (before
// a cache exists: its block size comes from here).
Result<Superblock> read_superblock(blockdev::BlockDevice& dev, bool read_only = false);

class Filesystem {
 public:
  // The cache's block size must be the filesystem's. Refuses images with a
  // bad superblock, unknown incompatible features, bad descriptors or
  // bitmaps, and read-write mounts of images marked as having errors.
  static Result<std::unique_ptr<Filesystem>> mount(cache::PageCache& cache, Clock& clock,
                                                   uint32_t block_size, MountOptions opts = {});
  // Does not write anything: call unmount() first for a clean image.
  ~Filesystem();
  Filesystem(const Filesystem&) = delete;
  Filesystem& operator=(const Filesystem&) = delete;

  // Frees orphans, writes everything back, marks the image clean.
  Status unmount();

  Result<Attr> lookup(Ino parent, std::string_view name);
  void forget(Ino ino, uint64_t nlookup);
  // A handle on ino was opened (the FUSE adapter calls it for every open
  // and create of a regular file): an unlinked file keeps its data while
  // it has open handles.
  Status open(Ino ino);
  // A handle on ino was closed: its unused reservation window goes back
  // to the other files (ext2's discard of the reservation); the last close
  // of an unlinked file frees its blocks.
  void release(Ino ino);
  Result<Attr> getattr(Ino ino);
  Result<Attr> setattr(Ino ino, const SetAttr& attr);

  // mode carries the type: S_IFREG, S_IFCHR, S_IFBLK, S_IFIFO or S_IFSOCK.
  Result<Attr> mknod(Ino parent, std::string_view name, uint32_t mode, uint32_t rdev, Creds c);
  Result<Attr> mkdir(Ino parent, std::string_view name, uint32_t mode, Creds c);
  Result<Attr> symlink(Ino parent, std::string_view name, std::string_view target, Creds c);
  Result<Attr> link(Ino ino, Ino new_parent, std::string_view new_name);
  Status unlink(Ino parent, std::string_view name);
  Status rmdir(Ino parent, std::string_view name);
  // whiteout_owner: the caller, owner of a kRenameWhiteout's whiteout.
  Status rename(Ino parent, std::string_view name, Ino new_parent, std::string_view new_name,
                uint32_t flags = 0, Creds whiteout_owner = {});
  Result<std::string> readlink(Ino ino);

  // ra: the open file's readahead state (null: the inode's own, and reads
  // of that file are serialised).
  Result<size_t> read(Ino ino, uint64_t offset, std::span<std::byte> out,
                      cache::ReadaheadState* ra = nullptr);
  // As read(), but lends the cache's pages (see cache::ReadView): view
  // holds spans of the bytes read, pinned until cleared.
  Result<size_t> read_view(Ino ino, uint64_t offset, size_t len, cache::ReadView& view,
                           cache::ReadaheadState* ra = nullptr);
  Result<size_t> write(Ino ino, uint64_t offset, std::span<const std::byte> data);
  // O_DIRECT: the cached range is written back and invalidated, then data
  // moves between the caller's buffer and the device with no cached copy.
  // offset, length and buffer must be 512-byte aligned (EINVAL otherwise);
  // a direct write into a hole allocates, past EOF it extends the size.
  Result<size_t> direct_read(Ino ino, uint64_t offset, std::span<std::byte> out);
  Result<size_t> direct_write(Ino ino, uint64_t offset, std::span<const std::byte> data);
  Status truncate(Ino ino, uint64_t size);
  // Hints for a server that keeps waiting requests off its serving thread
  // (fusefs/fuse/waiting_ops.h): false when a buffered read (write) of
  // [offset, offset+len) would neither wait for the device, write-back,
  // throttling or a journal commit nor for another operation holding the
  // inode (cache::PageCache::read_may_wait, write_may_wait). Cheap: page
  // lookups and counters, nothing locked but for a moment.
  bool read_may_wait(Ino ino, uint64_t offset, size_t len);
  bool write_may_wait(Ino ino, uint64_t offset, size_t len);
  // A commit is running: any operation that changes metadata (or atime)
  // waits for its end.
  bool commit_running() const { return journal_log_ && gate_.closed_now(); }
  // Another operation holds the inode's lock now (a stat would wait for it).
  bool inode_busy(Ino ino);
  // mode: what kernel ext4 accepts — 0 or KEEP_SIZE (allocate), PUNCH_HOLE
  // with KEEP_SIZE, ZERO_RANGE with or without KEEP_SIZE, COLLAPSE_RANGE,
  // INSERT_RANGE (these two on block boundaries, EINVAL otherwise); others
  // EOPNOTSUPP. Allocation writes no data: holes get blocks marked
  // unwritten, which read as zeros until written (KEEP_SIZE: past EOF too).
  // ENOSPC when the free blocks cannot cover the range (fs_fallocate.cpp).
  Status fallocate(Ino ino, int mode, uint64_t offset, uint64_t length);

  // ".", "..", then the names in hash order. Cookies (positions) do not
  // depend on where entries sit, so a listing resumed at any cookie it
  // returned continues after that entry however the directory changed
  // meanwhile: a name present throughout is listed exactly once, one added
  // or removed meanwhile at most once. Positions: 0 ".", 1 "..", 2 the
  // first name, then 3 + a 62-bit key of the name (< 2^63).
  // fill returns false when its buffer is full: that entry is not consumed,
  // and neither are those just before it with the same `cookie` (names
  // whose 62-bit keys collide form a group with one position) — the caller
  // drops them too. A caller that keeps part of a group anyway is shown
  // that part again (next_cookie of all but a group's last member is the
  // group's own position), never loses the rest.
  Status readdir(Ino ino, uint64_t cookie, const std::function<bool(const DirEntry&)>& fill);

  // Extended attributes (fs_xattr.cpp; format and errors in xattr.h): full
  // names ("user.x"); user., trusted. and security. only (EOPNOTSUPP else,
  // POSIX ACLs included). flags: 0, XATTR_CREATE (EEXIST) or XATTR_REPLACE
  // (ENODATA). All of an inode's attributes share one block (ENOSPC when
  // full). listxattr: every name followed by a NUL.
  Status setxattr(Ino ino, std::string_view name, std::span<const std::byte> value, int flags);
  Result<std::vector<std::byte>> getxattr(Ino ino, std::string_view name);
  Result<std::string> listxattr(Ino ino);
  Status removexattr(Ino ino, std::string_view name);

  Result<StatFs> statfs();
  Status fsync(Ino ino, bool datasync);
  Status sync();
  // Copies allocation state and the superblock into the cache (no I/O wait).
  Status flush_metadata();

  // lseek's SEEK_DATA (data true) and SEEK_HOLE from offset < size: the
  // offset of the first data (or hole) at or after it; ENXIO when there is
  // no data after it; the size for the implicit hole at the end. Unwritten
  // (fallocated) blocks count as data, as on tmpfs.
  Result<uint64_t> seek_data_or_hole(Ino ino, uint64_t offset, bool data);

  // ---- inspection (tests, cardfs inspect)
  Result<DiskInode> inspect_inode(Ino ino);
  // The disk block holding file block fb (0: a hole).
  Result<uint64_t> bmap(Ino ino, uint64_t file_block);
  Superblock superblock() const;
  // EIO naming the first group whose descriptor counts differ from its
  // bitmaps, or whose totals differ from the superblock's.
  Status check_free_counts() const;
  FsCounters counters() const;
  bool has_errors() const { return errors_.load(); }
  // What mount's journal recovery did (needed false: nothing to replay).
  journal::RecoveryStats recovery() const { return recovery_; }

  // ---- the journal (fs_commit.cpp); without one (or read-only) these do
  // nothing. Commits the running transaction (ordered data, log, commit
  // block); what the journal thread does every commit= seconds.
  Status commit();
  bool journaled() const { return journal_log_ != nullptr; }
  JournalCounters journal_counters() const;
  // The journal thread ("jbd2/mmcblk0-8", journal_thread.cpp): commits
  // every `interval` (the commit= mount option) and whenever an fsync or
  // a full transaction asks. unmount() stops it.
  void start_journal_thread(Nanos interval);
  void stop_journal_thread();

 private:
  // The frame of read() and read_view(): `from_cache` reads with the size
  // and readahead state to use, under the locking a buffered read needs.
  using CacheRead = std::function<Result<size_t>(cache::AddressSpace&, cache::ReadaheadState&,
                                                 uint64_t size)>;
  Result<size_t> buffered_read(Ino ino, cache::ReadaheadState* ra, const CacheRead& from_cache);
  Result<size_t> write_through_cache(Ino ino, uint64_t offset, std::span<const std::byte> data,
                                     bool direct);
  Filesystem(cache::PageCache& cache, Clock& clock, MountOptions opts);
  Status load(uint32_t block_size);
  // A handle on the running transaction (jbd2's handle_t), held for a
  // whole operation that may change metadata: declare it first, so that
  // it ends after every lock of the operation. A no-op without a journal.
  // Ending one commits when the running transaction outgrew its share of
  // the ring. Never nested (TransactionGate).
  class Handle {
   public:
    explicit Handle(Filesystem& fs);
    ~Handle();
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;

   private:
    Filesystem& fs_;
  };
  Status open_journal();
  // Commits unless transaction `tid` already has; true when this call
  // wrote a commit block (whose preflush made earlier writes durable).
  Result<bool> commit_through(uint64_t tid, bool checkpoint);
  Result<bool> commit_transaction(bool checkpoint);  // the gate closed
  Status sync_journaled();
  void journal_loop();
  Result<bool> wait_for_commit(uint64_t tid);
  void start_commit();
  Status checkpoint_locked();                  // the gate closed, after a commit
  Status close_journal();
  Status fsync_journaled(Inode& inode, bool datasync);
  // Ordered mode: the file's data goes to the card before the commit of
  // the transaction that allocated its blocks.
  void note_ordered_locked(Inode& inode);
  // ENOSPC while blocks freed by the running transaction wait for its
  // commit: commit (they become free) and try once more, as ext4 does.
  // The caller then runs the operation again (its handle ended).
  bool retry_after_commit(const Status& st);
  Result<Superblock> read_primary_super(uint32_t block_size);
  Status recover_journal(Superblock& sb);
  Timespec now() const;
  Result<std::shared_ptr<Inode>> get_inode(Ino ino);
  Attr attr_of(Inode& inode);
  Status writable() const;
  Status store(Inode& inode);
  void report(const Status& s);
  Status write_super();
  Status enable_unwritten();
  Status free_inode_locked(Inode& inode);
  Status free_data_locked(Inode& inode);
  Status orphan_locked(Inode& inode, bool store_due);
  Status free_orphans();
  void maybe_free_locked(Inode& inode, bool store_due = false);
  void touch_atime_locked(Inode& inode);
  // Whether touch_atime_locked would change the inode (the atime policy).
  bool atime_due_locked(const Inode& inode) const;
  // Opens txn for an atime update: the handle comes before the inode's
  // lock, so the lock is dropped for it and taken again. A read that will
  // not change atime (relatime, noatime: nearly all) takes no handle and
  // so never waits for a running commit.
  void open_atime_handle(std::optional<Handle>& txn, std::unique_lock<std::mutex>& lock);
  Status truncate_locked(Inode& inode, uint64_t size);
  // chmod of an inode with an access ACL: the ACL follows (fs_xattr.cpp).
  Status chmod_acl_locked(Inode& inode, uint32_t mode);
  Status zero_range_locked(Inode& inode, uint64_t offset, uint64_t end);
  Status drop_failed_allocation_locked(Inode& inode, uint64_t pos);
  Status punch_locked(Inode& inode, uint64_t offset, uint64_t length);
  Status allocate_locked(Inode& inode, uint64_t offset, uint64_t length, bool keep_size);
  static Status check_fallocate_mode(int mode);
  Status fallocate_locked(Inode& inode, int mode, uint64_t offset, uint64_t length);
  Status zero_fallocate_locked(Inode& inode, uint64_t offset, uint64_t length, bool keep_size);
  Status settle_pages_from_locked(Inode& inode, uint64_t offset);
  Status collapse_locked(Inode& inode, uint64_t offset, uint64_t length);
  Status insert_locked(Inode& inode, uint64_t offset, uint64_t length);
  Status fallocate_once(Ino ino, int mode, uint64_t offset, uint64_t length);
  Status setxattr_once(Ino ino, std::string_view name, std::span<const std::byte> value, int flags);
  Result<uint64_t> count_holes_locked(Inode& inode, uint64_t first, uint64_t end);
  void attach_address_space(const std::shared_ptr<Inode>& inode);
  void trim_inodes();
  bool evictable(Inode& inode);
  Result<Attr> create(Ino parent, std::string_view name, uint32_t mode, uint32_t rdev,
                      std::string_view target, Creds c);
  Result<Attr> create_once(Ino parent, std::string_view name, uint32_t mode, uint32_t rdev,
                           std::string_view target, Creds c);
  Status init_new_inode_locked(Inode& inode, uint32_t parent, std::string_view target);
  Directory dir_of(Inode& inode);
  // A directory locked for adding or removing `name`: the checks every
  // name change shares (writable, legal name, `.`/`..` refused with
  // dot_errno, directory alive) and what the name holds now.
  struct NameChange;
  // want_slot: also where an absent name would go (NameChange::slot).
  Result<NameChange> begin_name_change(Ino parent, std::string_view name, int dot_errno,
                                       bool want_slot = false);
  Status look_again(NameChange& c, std::string_view name);
  Result<std::shared_ptr<Inode>> lock_named(NameChange& c, Ino parent, std::string_view name,
                                            int dot_errno);
  Status remove_entry_locked(Inode& dir, const DirHit& hit, Inode& victim);
  Result<uint32_t> parent_of(uint32_t dir_ino);
  Result<std::vector<uint32_t>> ancestors(uint32_t dir_ino);
  Status rename_checked(Ino parent, std::string_view name, Ino new_parent,
                        std::string_view new_name, uint32_t flags, Creds whiteout_owner);
  // A new inode's fields (create and the whiteout share them).
  DiskInode new_disk_inode(uint32_t mode, uint32_t rdev, Creds c);
  Result<std::shared_ptr<Inode>> new_whiteout(Inode& dir, Creds c);
  struct RenameSides;
  Result<RenameSides> rename_sides(Inode& d1, std::string_view n1, Inode& d2,
                                   std::string_view n2);
  Status rename_locked(Inode& d1, std::string_view n1, Inode& d2, std::string_view n2,
                       uint32_t flags, const std::vector<uint32_t>& chain1,
                       const std::vector<uint32_t>& chain2, const RenameSides& s);

  cache::PageCache& cache_;
  Clock& clock_;
  const MountOptions opts_;
  std::function<uint32_t(std::string_view)> hash_;
  std::function<uint32_t(std::string_view)> minor_hash_;  // listing positions
  bool dir_index_ = true;  // the superblock's dir_index feature
  std::unique_ptr<BlockGroups> groups_;
  std::unique_ptr<Context> ctx_;
  std::unique_ptr<InodeTable> itable_;
  std::unique_ptr<OrphanList> orphans_;  // orphan.h: unlinked inodes still in use
  mutable std::mutex sb_mu_;
  Superblock sb_;
  journal::JournalExtent journal_;     // where the journal is (when it has one)
  journal::RecoveryStats recovery_;   // set once at mount
  bool probe_needs_recovery_ = false;  // a probe mount met a journal needing replay
  std::mutex super_write_mu_;  // write_super() only; taken before buffer locks
  Superblock sb_last_;       // as last put in the cache (sb_mu_)
  bool sb_written_ = false;  // sb_mu_
  std::mutex rename_mu_;
  std::unique_ptr<Journal> journal_log_;  // the writing side; null without a journal or read-only
  TransactionGate gate_;
  std::mutex commit_mu_;                  // one commit or checkpoint at a time
  std::atomic<uint64_t> running_tid_{1};  // the transaction handles join
  std::atomic<uint64_t> committed_tid_{0};
  std::mutex jt_mu_;                      // the journal thread's state; before commit_mu_
  std::condition_variable jt_cv_;
  std::thread jt_thread_;
  Nanos jt_interval_{0};
  bool jt_stop_ = false;
  uint64_t jt_requested_ = 0;     // jt_mu_: a commit through this transaction is wanted
  uint64_t jt_wrote_through_ = 0; // jt_mu_: the last commit that wrote a commit block
  Status jt_error_;               // jt_mu_: the last commit's
  std::mutex ordered_mu_;                 // a leaf
  std::map<uint32_t, std::shared_ptr<cache::AddressSpace>> ordered_;  // ordered_mu_: by inode
  std::atomic<bool> errors_{false};
  std::atomic<uint32_t> next_generation_{1};
  std::atomic<uint64_t> dir_blocks_read_{0};
  std::atomic<uint64_t> lookups_{0};
  std::atomic<uint64_t> inodes_evicted_{0};
  std::atomic<size_t> next_trim_{0};  // table size that starts the next eviction scan
};

}  // namespace cardfs::fusefs
