// Page: one 4 KiB page of an address space (internal to cache/).
//
// State lives in the page, guarded by its mutex `mu` (a leaf lock: nothing
// else is taken while it is held). Per 512-byte sector the page keeps
// uptodate, dirty and lock bits — the buffer-head idea: a BufferRef locks
// only its block's sectors, a file write locks the whole page. The lock
// bits are sleeping locks (PG_locked): they may be held across device I/O
// and GetBlock, and released on another thread (bio completion).
//
// Lifetime: `refs` counts the index's reference plus every pin (PageRef,
// in-flight bio). The page is deleted when the count reaches zero, so a
// pinned page's memory stays valid after it leaves the index.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <vector>

#include "cache/page_cache.h"

namespace cardfs::cache {

inline constexpr uint32_t kSectorsPerPage = kPageSize / 512;
inline constexpr uint8_t kAllSectors = 0xff;

// Bit mask of the sectors holding bytes [from, to) of a page.
inline uint8_t sector_mask(uint32_t from, uint32_t to) {
  if (from >= to) return 0;
  uint32_t first = from / 512, last = (to - 1) / 512;
  return uint8_t(((1u << (last + 1)) - 1) & ~((1u << first) - 1));
}

enum class LruList : uint8_t { kNone, kInactive, kActive };

class PagePool;

// The most filesystem blocks one page holds: block_size is at least 1024.
inline constexpr uint32_t kMaxBlocksPerPage = kPageSize / 1024;

struct Page {
  // Made and destroyed only by a PagePool (page_pool.h), which owns the
  // header's storage and the frame.
  Page(AddressSpace* o, uint64_t i, PagePool& pp, std::byte* frame)
      : owner(o), index(i), pool(pp), data(frame) {}
  Page(const Page&) = delete;
  Page& operator=(const Page&) = delete;

  AddressSpace* const owner;
  const uint64_t index;
  PagePool& pool;
  std::byte* const data;      // kPageSize bytes, 4096-aligned, the pool's frame

  // The fields are ordered to leave no padding: every cached page pays for
  // this header against cache_size (PageCache::bytes_per_page).
  std::mutex mu;
  std::condition_variable cv;  // lock bits, uptodate, writeback changes
  std::array<uint64_t, kMaxBlocksPerPage> map_sector{};  // per block slot, guarded by mu
  std::atomic<int> refs{1};   // the index's reference + pins
  // Guarded by mu.
  int wb_pending = 0;          // bios of the current write-back not yet done
  int lent = 0;                // read views holding the bytes still (ReadView::lend)
  int changers_waiting = 0;    // writers waiting for `lent` to drain: new views copy
  // Guarded by the cache's txn_mu: the journal transaction that last noted
  // this page (metadata_hold.cpp), so a page dirtied again is noted once.
  uint64_t txn_noted = 0;
  uint8_t uptodate = 0;
  uint8_t dirty = 0;
  uint8_t locks = 0;
  uint8_t verified = 0;        // sectors a metadata reader checked (a subset of uptodate)
  uint8_t mapped = 0;          // per block slot: map_sector is valid
  bool writeback = false;
  bool read_error = false;     // the last read of some sector failed
  bool ra_marker = false;      // PG_readahead: reaching it starts async readahead
  bool ra_unused = false;      // brought by readahead, not yet read by anyone
  bool in_index = true;

  // Guarded by the cache's LRU mutex.
  LruList lru = LruList::kNone;
  std::atomic<bool> referenced{false};
  std::atomic<bool> active{false};
  Page* lru_prev = nullptr;
  Page* lru_next = nullptr;

  // Sleeping lock on `mask` sectors (and waiting out write-back when
  // `stable`, so the bytes can change while no bio reads them).
  void lock(uint8_t mask, bool stable = false);
  bool try_lock(uint8_t mask, bool stable = false);
  void unlock(uint8_t mask);
  void wait_writeback();
  // Waits until none of `mask` is locked; true if all of it is uptodate.
  bool wait_uptodate(uint8_t mask);
  // Locks mu to change bytes of uptodate sectors, once no read view lends
  // them: a reply may be reading them (ReadView::lend). The caller holds
  // the lock bits of the sectors it changes.
  std::unique_lock<std::mutex> lock_to_change();
};

void unpin(Page* p);

// Zeroes the `mask` sectors of p's data (caller holds their lock bits).
inline void zero_sectors(Page* p, uint8_t mask) {
  for (uint32_t s = 0; s < kSectorsPerPage; ++s)
    if (mask & (1u << s)) std::memset(p->data + s * 512, 0, 512);
}

// A pin on a page: keeps its memory alive (not its place in the index).
class PageRef {
 public:
  PageRef() = default;
  explicit PageRef(Page* p) : p_(p) {}  // adopts an existing pin
  PageRef(PageRef&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
  PageRef& operator=(PageRef&& o) noexcept {
    if (this != &o) {
      reset();
      p_ = o.p_;
      o.p_ = nullptr;
    }
    return *this;
  }
  ~PageRef() { reset(); }
  void reset() {
    if (p_) unpin(p_);
    p_ = nullptr;
  }
  Page* get() const { return p_; }
  Page* operator->() const { return p_; }
  explicit operator bool() const { return p_ != nullptr; }
  Page* release() {
    Page* p = p_;
    p_ = nullptr;
    return p;
  }

 private:
  Page* p_ = nullptr;
};

}  // namespace cardfs::cache
