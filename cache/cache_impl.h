// PageCache::Impl: the state shared by the cache's source files (internal).
//
// Lock order: Page lock bits → AddressSpace shard → Lru::mu → Page::mu.
// Registry and dirty-list mutexes are taken with no page or shard lock
// held. No mutex is held across device I/O or a GetBlock call; only Page
// lock bits are (as Linux holds PG_locked), and reclaim never waits on them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <list>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cache/address_space.h"
#include "cache/counters.h"
#include "cache/lru.h"
#include "cache/page.h"
#include "cache/page_pool.h"
#include "cache/page_cache.h"

namespace cardfs::cache {

enum class WbMode { kNoWait, kSync };  // WB_SYNC_NONE / WB_SYNC_ALL

struct PageCache::Impl {
  Impl(blockdev::BlockDevice& dev, Clock& clock, uint32_t block_size, const Tunables& t);

  blockdev::BlockDevice& dev;
  Clock& clock;
  const uint32_t block_size;
  const uint32_t sectors_per_block;
  const uint32_t blocks_per_page;
  Counters counters;
  PagePool pool;  // before everything that holds pages: destroyed after them
  Lru lru;

  // Reads in flight that nobody waits for (readahead); the destructor
  // waits for them.
  std::mutex io_mu;
  std::condition_variable io_cv;
  int64_t async_reads = 0;
  void async_read_started();
  void async_read_done();
  void wait_async_reads();

  mutable std::mutex tun_mu;
  Tunables tun;  // guarded by tun_mu; the limits below are derived copies
  std::atomic<uint64_t> cache_size_bytes{0};
  std::atomic<uint64_t> limit_pages{0};
  std::atomic<uint64_t> dirty_limit_pages{0};
  std::atomic<uint64_t> bg_limit_pages{0};
  std::atomic<bool> multipage{false};
  void apply_tunables(const Tunables& t);

  std::shared_ptr<AddressSpace> bdev;
  // A journal's hold (metadata_hold.cpp): while set, only
  // write_back_metadata() writes the block device's pages home, and the
  // pages dirtied since the last take_transaction_blocks() are noted.
  std::atomic<bool> hold_metadata{false};
  std::mutex txn_mu;
  // txn_mu: bdev pages of the running transaction (each once, but for a
  // page dropped and read again), and its number (Page::txn_noted).
  std::vector<uint64_t> txn_pages;
  uint64_t txn_epoch = 1;
  bool held(const AddressSpace& as) const { return as.is_bdev() && hold_metadata.load(); }
  void note_transaction_page(Page* p);
  std::mutex reg_mu;
  std::unordered_map<uint64_t, std::shared_ptr<AddressSpace>> registry;
  std::vector<std::shared_ptr<AddressSpace>> all_spaces();

  // Inodes with dirty pages, oldest first (the bdi's b_dirty list).
  std::mutex dirty_list_mu;
  std::list<std::shared_ptr<AddressSpace>> dirty_list;

  // Flusher thread.
  std::mutex fl_mu;
  std::condition_variable fl_cv;
  bool fl_stop = false;
  bool fl_kick = false;
  std::atomic<bool> fl_running{false};
  std::thread fl_thread;
  Nanos next_periodic{0};
  void kick_flusher();

  // ---- pages (page_cache.cpp)
  // The page at index, created (not uptodate, all lock bits held by the
  // caller) when missing; *created says which.
  PageRef find_or_create(AddressSpace& as, uint64_t index, bool* created);
  // Takes p out of the index and the LRU; p must be pinned by the caller.
  void drop_page(Page* p);
  // Page::lock, sending this thread's plugged bios on first if it must
  // wait (the holder may be waiting for one of them).
  void lock_page(Page* p, uint8_t mask, bool stable = false) {
    if (p->try_lock(mask, stable)) return;
    dev.plug_flush();
    p->lock(mask, stable);
  }
  void mark_dirty(Page* p, uint8_t mask);
  void clear_dirty(Page* p, uint8_t mask);
  void mark_accessed(Page* p) { lru.mark_accessed(p); }
  // The filesystem's GetBlock, with the allocating-for context and a bound
  // check on what it returns.
  Result<BlockMapping> get_block(AddressSpace& as, uint64_t file_block, bool create);
  // Where block slot `slot` of page p lives. Caches mapped results.
  Result<BlockMapping> map_block(AddressSpace& as, Page* p, uint32_t slot, bool create);
  uint32_t slot_of_sector(uint32_t sector) const { return sector / sectors_per_block; }
  uint8_t slot_mask(uint32_t slot) const {
    return uint8_t(((1u << sectors_per_block) - 1) << (slot * sectors_per_block));
  }
  // Reads the `mask` sectors of p (all mapped or holes) synchronously.
  Status read_sectors(AddressSpace& as, Page* p, uint8_t mask, uint32_t flags);
  Status wait_page_io_error(Page* p, uint8_t mask);

  // Drops the cached pages of [first, last] (pages), after their write-back.
  void drop_range(AddressSpace& as, uint64_t first, uint64_t last);

  // ---- reclaim (lru.cpp)
  void reclaim_if_needed();
  size_t shrink(size_t want);

  // ---- write-back (writeback.cpp)
  // Writes back the dirty pages at `indices` (file order) of as.
  // Returns pages submitted.
  size_t write_pages(AddressSpace& as, const std::vector<uint64_t>& indices, WbMode mode);
  size_t write_back_as(AddressSpace& as, uint64_t first, uint64_t last, WbMode mode, size_t max);
  void note_dirty_inode(AddressSpace& as);
  size_t background_pass(uint64_t target, bool expired_only);
  size_t expire_pass(Nanos now, Nanos expire);  // expired inodes, data before metadata
  void balance_dirty_pages();
  // Dirty and under-write-back pages as throttling counts them (held
  // metadata does not count: only a commit releases it).
  int64_t throttled_pages();
  Status sync_metadata(const std::vector<uint64_t>* only);
  Status flush_device();
};

}  // namespace cardfs::cache
