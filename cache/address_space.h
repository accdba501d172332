// AddressSpace: one file's (or the block device's) pages (internal).
//
// The index is sharded by page number so that concurrent lookups of one
// file rarely meet on a mutex. The dirty set holds the numbers of dirty
// pages in file order, which is the order write-back gathers them in.
//
// Lock order inside cache/: Page lock bits (sleeping) → shard mutex → the
// cache's LRU mutex → Page::mu → dirty_mu. wb_mu, gb_mu and assoc_mu are
// leaves; the cache's dirty-list mutex may be held when taking dirty_mu.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/thread_annotations.h"
#include "cache/lru.h"
#include "cache/page.h"
#include "cache/page_cache.h"

namespace cardfs::cache {

class AddressSpace : public std::enable_shared_from_this<AddressSpace> {
 public:
  static constexpr size_t kShards = 8;

  AddressSpace(uint64_t ino, GetBlock get_block, bool is_bdev)
      : ino_(ino), is_bdev_(is_bdev), get_block_(std::move(get_block)) {}
  ~AddressSpace() { delete shards_.load(std::memory_order_acquire); }
  AddressSpace(const AddressSpace&) = delete;
  AddressSpace& operator=(const AddressSpace&) = delete;

  uint64_t ino() const { return ino_; }
  bool is_bdev() const { return is_bdev_; }
  // What messages call it: "inode N", or "metadata" for the block device's
  // own space (whose ino is a sentinel, ~0, never shown).
  std::string describe() const {
    return is_bdev_ ? std::string("metadata") : "inode " + std::to_string(ino_);
  }
  GetBlock get_block() const;
  void set_get_block(GetBlock gb);

  // Pinned page at index, or empty.
  PageRef find(uint64_t index);
  // Inserts `fresh` (and puts it on `lru`, under the shard lock so that a
  // concurrent drop cannot miss it) unless a page is already there; returns
  // the pinned page in the index afterwards and whether it is `fresh`.
  PageRef insert(Page* fresh, Lru& lru, bool* inserted);
  // Removes p from the index if it is there (pins elsewhere keep its memory).
  // The index's reference then passes to the caller, who takes p off the
  // LRU before unpinning it.
  bool remove(Page* p);
  // For reclaim: only when the shard lock is free and nobody pins p.
  bool try_remove(Page* p);
  // Pinned pages with index in [first, last], in no particular order.
  std::vector<PageRef> pages_in(uint64_t first, uint64_t last);
  size_t page_count() const { return nr_pages_.load(std::memory_order_relaxed); }

  // ---- dirty tracking
  // Adds index to the dirty set; true when the set was empty before
  // (the inode has just become dirty; dirtied_when was set to now).
  // Callers hold the page's mu, so the set always agrees with Page::dirty.
  bool add_dirty(uint64_t index, Nanos now);
  void remove_dirty(uint64_t index);
  std::vector<uint64_t> dirty_in(uint64_t first, uint64_t last, size_t max);
  bool has_dirty();
  size_t dirty_count();
  Nanos dirtied_when();

  // ---- write-back accounting and errors
  void writeback_started(int pages);
  void writeback_done(int pages, int err);
  void wait_writeback_idle();
  bool writeback_idle();
  int error() const { return error_.load(); }

  // ---- metadata blocks (bdev page numbers) dirtied while allocating for
  // this file: what fdatasync must also write (Linux's private_list).
  void add_assoc(uint64_t bdev_index);
  std::vector<uint64_t> take_assoc();

  bool on_dirty_list = false;  // guarded by the cache's dirty-list mutex

 private:
  struct alignas(64) Shard {
    std::mutex mu;
    std::unordered_map<uint64_t, Page*> pages;
  };
  using Shards = std::array<Shard, kShards>;
  // The index exists from the first page on: 8 cache-line shards are
  // 1 KiB, and most files of a metadata workload never get a page (an
  // empty file, a directory, a symlink). Made with each inode, the shards
  // and the page faults of that memory were 10 % of the daemon's samples
  // in a create loop. Once made it stays until the space goes, so a
  // reader that found it may keep using it without a lock.
  Shards* shards() const { return shards_.load(std::memory_order_acquire); }
  Shards& shards_made();

  const uint64_t ino_;
  const bool is_bdev_;
  mutable Mutex gb_mu_;
  GetBlock get_block_ CARDFS_GUARDED_BY(gb_mu_);
  std::atomic<Shards*> shards_{nullptr};
  std::atomic<size_t> nr_pages_{0};

  Mutex dirty_mu_;
  std::set<uint64_t> dirty_ CARDFS_GUARDED_BY(dirty_mu_);
  Nanos dirtied_when_ CARDFS_GUARDED_BY(dirty_mu_){0};

  std::mutex wb_mu_;
  std::condition_variable wb_cv_;
  int nr_writeback_ = 0;
  std::atomic<int> error_{0};

  Mutex assoc_mu_;
  std::set<uint64_t> assoc_ CARDFS_GUARDED_BY(assoc_mu_);
};

}  // namespace cardfs::cache
