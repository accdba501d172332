// PageCache: cardfs's userspace page cache — the contract fusefs codes to.
//
// One cache per mounted filesystem over one BlockDevice. Pages are 4 KiB.
// Each file has an AddressSpace (its pages, indexed by page number); the
// block device has one too (bdev()), caching metadata blocks, as Linux's
// unified page/buffer cache does. The cache never learns the on-disk
// format: the filesystem supplies GetBlock for each address space.
//
// Thread-safety: every method may be called from any thread. The caller
// serialises operations on one file as a VFS inode lock would (no two
// concurrent writes/truncates of the same AddressSpace); reads may run
// concurrently with anything. Callbacks (GetBlock) are called without any
// cache lock held, and may call bread()/bget() on the same cache.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "blockdev/block_device.h"

namespace cardfs::cache {

inline constexpr uint32_t kPageSize = 4096;

// Where one filesystem block of a file lives on the device.
struct BlockMapping {
  bool mapped = false;  // false: a hole (reads as zeros)
  uint64_t sector = 0;  // first 512-byte sector of the block, when mapped
  bool fresh = false;   // just allocated by this call: never read it from disk
  // The metadata blocks (device blocks, through bread/bget) this call
  // dirtied to map the block, e.g. the indirect blocks of its path: the
  // cache makes them the file's, so its fdatasync writes them too.
  std::vector<uint64_t> metadata;

  // A mapped block at `sector` (`fresh`: just allocated), nothing dirtied.
  static BlockMapping at(uint64_t sector, bool fresh = false) {
    BlockMapping m;
    m.mapped = true;
    m.sector = sector;
    m.fresh = fresh;
    return m;
  }
};

// The filesystem's get_block: file block number (in the address space's
// block size) to its location; with create, allocates (ENOSPC, EFBIG...)
// and names in BlockMapping::metadata what it dirtied on the way.
using GetBlock = std::function<Result<BlockMapping>(uint64_t file_block, bool create)>;

// Linux's vm and queue tunables, all changeable at run time.
struct Tunables {
  // Bytes of memory for cached pages: each page counts its 4 KiB of data
  // and its bookkeeping (PageCache::bytes_per_page()).
  uint64_t cache_size = 256ull << 20;
  uint32_t dirty_ratio = 20;                  // % of cache_size: writers throttled above
  uint32_t dirty_background_ratio = 10;       // %: background write-back starts above
  uint32_t dirty_expire_centisecs = 3000;     // dirty longer than this is written back
  uint32_t dirty_writeback_centisecs = 500;   // flusher period
  bool multipage_bios = false;  // false: one bio per page (block device writepage)
};

class AddressSpace;  // opaque; owned through shared_ptr

// Per open file: the readahead window state (Linux's file_ra_state).
struct ReadaheadState {
  uint64_t start = 0;        // first page of the current window
  uint32_t size = 0;         // pages in the window
  uint32_t async_size = 0;   // pages before the window's end where the marker sits
  uint64_t prev_pos = ~0ull; // byte offset after the last read, for sequential detection
};

// A pinned metadata block in the bdev address space (a buffer head).
// Modify bytes only while holding lock(); then call mark_dirty().
class BufferRef {
 public:
  BufferRef() = default;
  BufferRef(BufferRef&&) noexcept;
  BufferRef& operator=(BufferRef&&) noexcept;
  ~BufferRef();
  std::span<std::byte> data() const;     // the block's bytes (block_size long)
  uint64_t block() const;
  void lock();
  // For a reader that only copies or parses the bytes: holds off changes
  // like lock() but does not wait out the block's write-back, which only
  // reads them too (a lookup meets a checkpoint writing its directory
  // block and goes on; a change still waits, for stable bytes on the wire).
  void lock_to_read();
  void unlock();
  void mark_dirty();                         // the whole block
  void mark_dirty(size_t offset, size_t len);  // only the sectors touched
  // A reader's mark that it checked these bytes (a checksum): kept while
  // they stay cached, gone once they are dropped or zeroed, so a block read
  // again from the device is checked again. Whoever changes the bytes
  // through this buffer keeps them valid (reseals) or must not mark them.
  bool verified() const;
  void set_verified();
  explicit operator bool() const { return impl_ != nullptr; }
  struct Impl;

 private:
  friend class PageCache;
  explicit BufferRef(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct Page;

// File data lent out of the cache (for a reply that the kernel copies
// straight from the cache's pages): spans into the pages, each page
// pinned, so its memory is neither freed nor reused, until clear() or
// destruction. A write that lands between read_view() and lend() shows
// through, page by page, as a Linux read racing a write may see part of
// it; none lands in a page while it is lent.
class ReadView {
 public:
  ReadView() = default;
  ~ReadView() { clear(); }
  ReadView(const ReadView&) = delete;
  ReadView& operator=(const ReadView&) = delete;
  // The spans covering the bytes read, held still until clear(): a write
  // into a lent page waits for it (the reply is sent meanwhile), and a
  // page that a writer already waits on is copied into the view instead of
  // lent, so a stream of readers cannot starve the writer. Call with no
  // filesystem or cache lock held: the waiting writer may hold them.
  std::span<const iovec> lend();
  void clear();  // ends the lending, unpins every page (the vectors keep their storage)

 private:
  friend class PageCache;
  std::vector<iovec> iov_;
  std::vector<Page*> pins_;       // per span: its page; nullptr once copied
  std::vector<std::byte> copies_;  // the spans copied instead of lent
  bool lent_ = false;
};

class PageCache {
 public:
  // block_size: the filesystem block size (1024, 2048 or 4096), the unit of
  // GetBlock and of bread(). Does not start the flusher.
  PageCache(blockdev::BlockDevice& dev, Clock& clock, uint32_t block_size, Tunables t = {});
  // Stops the flusher. Does not write anything back: call sync_all() first.
  ~PageCache();

  // Starts the background flusher thread (real daemon; tests may instead
  // call run_flusher_once()).
  void start_flusher();
  void stop_flusher();
  // One flusher pass at clock.now(): expired inodes, then background
  // write-back if above dirty_background_ratio.
  void run_flusher_once();

  // ---- address spaces
  std::shared_ptr<AddressSpace> create_address_space(uint64_t ino, GetBlock get_block);
  // Drops every page of `as` (the inode is gone). Dirty pages are discarded.
  void destroy_address_space(AddressSpace& as);
  // For inode eviction: when `as` has no dirty page and none under
  // write-back, drops its (clean) pages and forgets it, and returns true;
  // otherwise changes nothing. The caller guarantees nobody else uses `as`.
  bool forget_clean_address_space(AddressSpace& as);

  // ---- buffered file data
  // Reads up to out.size() bytes at offset, never past file_size; holes
  // read as zeros. Drives readahead through ra. Returns bytes read.
  Result<size_t> read(AddressSpace& as, ReadaheadState& ra, uint64_t offset,
                      std::span<std::byte> out, uint64_t file_size);
  // As read(), but lends the pages instead of copying len bytes out: view
  // (cleared first) gets spans covering the bytes read, in order, to be
  // held still by ReadView::lend() before they are read.
  Result<size_t> read_view(AddressSpace& as, ReadaheadState& ra, uint64_t offset, size_t len,
                           uint64_t file_size, ReadView& view);
  // Copies data into the cache, allocating blocks through GetBlock(create),
  // marking only the touched sectors dirty. May throttle (balance dirty
  // pages). file_size is the size before the write; the caller updates it.
  // When GetBlock(create) fails partway (ENOSPC), the bytes before the
  // block it failed on are written and counted (a short write, ending at
  // that block's start); the error is returned only when nothing was.
  // throttle = false: no pause here; the caller calls throttle() once it
  // holds no lock another request may need (as ext4 ends its handle and
  // Linux balances dirty pages after write_end).
  Result<size_t> write(AddressSpace& as, uint64_t offset, std::span<const std::byte> data,
                       uint64_t file_size, bool throttle = true);
  // balance_dirty_pages: pauses the caller while dirty pages are over
  // dirty_ratio (kicks the flusher over the background ratio).
  void throttle();

  // ---- will it wait? (for a server that keeps waiting requests off its
  // one serving thread; hints, read under the pages' own locks only, so a
  // racing change may make either answer stale)
  // False when read() of [offset, offset+len) would find every page present
  // and uptodate with no readahead marker on the way: it then neither waits
  // for the device nor submits readahead (a submission may wait for a free
  // request). True otherwise.
  bool read_may_wait(AddressSpace& as, uint64_t offset, size_t len, uint64_t file_size);
  // False when write() of len bytes at offset would not be throttled (the
  // dirty pages, with those it adds, stay within dirty_ratio), would read
  // no partially written sector from the device and would wait for no page
  // under write-back or locked. Mapping blocks (GetBlock) may still read.
  bool write_may_wait(AddressSpace& as, uint64_t offset, size_t len, uint64_t file_size);

  // ---- direct I/O (512-byte aligned offset, length and buffer; EINVAL otherwise)
  // Writes back and invalidates the cached range first. A direct write
  // whose GetBlock(create) fails partway writes the blocks mapped before
  // and returns their bytes (a short write), as write() does.
  Result<size_t> direct_read(AddressSpace& as, uint64_t offset, std::span<std::byte> out,
                             uint64_t file_size);
  Result<size_t> direct_write(AddressSpace& as, uint64_t offset, std::span<const std::byte> data);

  // ---- durability
  // Writes back dirty pages of [start, end) and, with wait, waits for them.
  Status write_back_range(AddressSpace& as, uint64_t start, uint64_t end, bool wait);
  // Data of `as`, then (unless datasync) all dirty metadata, then a device flush.
  Status fsync(AddressSpace& as, bool datasync);
  // Every dirty page of every address space, then a device flush (syncfs).
  Status sync_all();
  // Write-through for O_SYNC/O_DSYNC opens and the `sync` mount option
  // (generic_write_sync): call after write() of [start, end) and the size
  // update. Writes that range back and waits, then metadata (with datasync
  // only what allocating for this file dirtied), then flushes the device.
  Status sync_range(AddressSpace& as, uint64_t start, uint64_t end, bool datasync);

  // ---- truncate / holes (caller frees blocks afterwards)
  // Drops pages wholly past new_size and zeroes the tail of a partial one.
  void truncate_pages(AddressSpace& as, uint64_t new_size);
  // Zeroes [offset, offset+len) in cached pages, dropping whole pages.
  void punch_pages(AddressSpace& as, uint64_t offset, uint64_t len);

  // ---- metadata blocks through the block device's address space
  // The block's current contents (read from the device if not cached).
  Result<BufferRef> bread(uint64_t block);
  // The block without reading it, zero-filled: for freshly allocated blocks.
  Result<BufferRef> bget_zeroed(uint64_t block);
  // The block as cached when it is; when it is not (or only partly), the
  // missing sectors start as zeros instead of being read. For a block whose
  // on-disk bytes the caller knows to be dead (an inode-table block whose
  // other inodes are all free): unlike bget_zeroed it never wipes what
  // another user already has in the cache, dirty or not.
  Result<BufferRef> bget_cached_or_zeroed(uint64_t block);
  // Drops a freed metadata block from the cache, dirty or not.
  void bforget(uint64_t block);

  // ---- a journal's hold on metadata (metadata_hold.cpp, docs/journal.md)
  // While held, nothing writes metadata blocks (the block device's pages)
  // home but write_back_metadata(): not the flusher, reclaim, fsync,
  // sync_range or sync_all, which still write file data and flush. The
  // journal's checkpoint calls it once the blocks' transactions committed;
  // the home locations then only ever hold committed bytes (jbd2's rule).
  void set_metadata_hold(bool hold);
  struct BlockCopy {
    uint64_t block = 0;
    std::vector<std::byte> bytes;  // block_size bytes
  };
  // Copies of the metadata blocks dirtied while held since the last call
  // and still dirty: the running transaction. The caller keeps every
  // writer of metadata away meanwhile (the copies are then consistent).
  std::vector<BlockCopy> take_transaction_blocks();
  // Metadata pages dirtied since the last take_transaction_blocks().
  size_t transaction_pages();
  // Dirty metadata pages (all of them held while a journal is on).
  size_t dirty_metadata_pages();
  // Checkpoint: every dirty metadata block home, waited for; no flush.
  Status write_back_metadata();
  // Ordered data: the dirty pages of these files written and waited for
  // (the first error is returned); no flush.
  Status write_back_files(std::span<const std::shared_ptr<AddressSpace>> files);
  // A cache flush of the device (kFlush), waited for.
  Status flush_device();
  // The device this cache reads and writes (a journal writes its log there).
  blockdev::BlockDevice& device();

  // ---- tunables and counters
  // What one cached page counts against Tunables::cache_size: its frame,
  // its header, its share of the index (node and buckets) and its place in
  // the dirty and transaction sets. The cache holds at most
  // cache_size / bytes_per_page() pages (16 at least).
  static uint64_t bytes_per_page();
  Tunables tunables() const;
  void set_tunables(const Tunables& t);
  // /proc/meminfo-style ("Cached:  1234 kB") and /proc/vmstat-style text.
  std::string meminfo() const;
  std::string vmstat() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cardfs::cache
