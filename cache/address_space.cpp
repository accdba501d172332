#include "cache/address_space.h"

#include <algorithm>

namespace cardfs::cache {

GetBlock AddressSpace::get_block() const {
  MutexLock lock(gb_mu_);
  return get_block_;
}

void AddressSpace::set_get_block(GetBlock gb) {
  MutexLock lock(gb_mu_);
  get_block_ = std::move(gb);
}

AddressSpace::Shards& AddressSpace::shards_made() {
  Shards* s = shards();
  if (s) return *s;
  auto fresh = std::make_unique<Shards>();
  if (shards_.compare_exchange_strong(s, fresh.get(), std::memory_order_acq_rel))
    return *fresh.release();
  return *s;  // another thread made them first
}

PageRef AddressSpace::find(uint64_t index) {
  Shards* all = shards();
  if (!all) return {};
  Shard& s = (*all)[index % kShards];
  std::lock_guard lock(s.mu);
  auto it = s.pages.find(index);
  if (it == s.pages.end()) return {};
  it->second->refs.fetch_add(1, std::memory_order_relaxed);
  return PageRef(it->second);
}

PageRef AddressSpace::insert(Page* fresh, Lru& lru, bool* inserted) {
  Shard& s = shards_made()[fresh->index % kShards];
  std::lock_guard lock(s.mu);
  auto [it, ok] = s.pages.try_emplace(fresh->index, fresh);
  *inserted = ok;
  if (ok) {
    nr_pages_.fetch_add(1, std::memory_order_relaxed);
    lru.add(fresh);
  }
  it->second->refs.fetch_add(1, std::memory_order_relaxed);
  return PageRef(it->second);
}

// Buckets an index keeps however few its pages (a constant per address space).
static constexpr size_t kMinBuckets = 64;

static bool remove_locked(std::unordered_map<uint64_t, Page*>& pages, Page* p, bool unpinned) {
  auto it = pages.find(p->index);
  if (it == pages.end() || it->second != p) return false;
  if (unpinned && p->refs.load() != 1) return false;
  pages.erase(it);
  // The buckets an index grew to stay until it rehashes: give them back
  // once it is down to a quarter, so that a file once large does not keep
  // them. With growth doubling them, a page's share is then at most 4
  // buckets (kIndexBytesPerPage).
  if (pages.bucket_count() > kMinBuckets && pages.size() * 4 < pages.bucket_count())
    pages.rehash(0);
  {
    std::lock_guard lock(p->mu);
    p->in_index = false;
  }
  return true;
}

bool AddressSpace::remove(Page* p) {
  Shards* all = shards();
  if (!all) return false;
  Shard& s = (*all)[p->index % kShards];
  bool removed;
  {
    std::lock_guard lock(s.mu);
    removed = remove_locked(s.pages, p, false);
  }
  if (removed) nr_pages_.fetch_sub(1, std::memory_order_relaxed);
  return removed;
}

bool AddressSpace::try_remove(Page* p) {
  Shards* all = shards();
  if (!all) return false;
  Shard& s = (*all)[p->index % kShards];
  std::unique_lock lock(s.mu, std::try_to_lock);
  if (!lock.owns_lock() || !remove_locked(s.pages, p, true)) return false;
  lock.unlock();
  nr_pages_.fetch_sub(1, std::memory_order_relaxed);
  return true;
}

std::vector<PageRef> AddressSpace::pages_in(uint64_t first, uint64_t last) {
  std::vector<PageRef> out;
  if (last >= first && last - first < 64) {
    for (uint64_t i = first;; ++i) {
      if (auto p = find(i)) out.push_back(std::move(p));
      if (i == last) break;
    }
    return out;
  }
  Shards* all = shards();
  if (!all) return out;
  for (auto& s : *all) {
    std::lock_guard lock(s.mu);
    for (auto& [index, p] : s.pages) {
      if (index < first || index > last) continue;
      p->refs.fetch_add(1, std::memory_order_relaxed);
      out.emplace_back(p);
    }
  }
  return out;
}

bool AddressSpace::add_dirty(uint64_t index, Nanos now) {
  MutexLock lock(dirty_mu_);
  bool was_clean = dirty_.empty();
  dirty_.insert(index);
  if (was_clean) dirtied_when_ = now;
  return was_clean;
}

void AddressSpace::remove_dirty(uint64_t index) {
  MutexLock lock(dirty_mu_);
  dirty_.erase(index);
}

std::vector<uint64_t> AddressSpace::dirty_in(uint64_t first, uint64_t last, size_t max) {
  MutexLock lock(dirty_mu_);
  std::vector<uint64_t> out;
  for (auto it = dirty_.lower_bound(first); it != dirty_.end() && *it <= last; ++it) {
    if (out.size() >= max) break;
    out.push_back(*it);
  }
  return out;
}

bool AddressSpace::has_dirty() {
  MutexLock lock(dirty_mu_);
  return !dirty_.empty();
}

size_t AddressSpace::dirty_count() {
  MutexLock lock(dirty_mu_);
  return dirty_.size();
}

Nanos AddressSpace::dirtied_when() {
  MutexLock lock(dirty_mu_);
  return dirtied_when_;
}

void AddressSpace::writeback_started(int pages) {
  std::lock_guard lock(wb_mu_);
  nr_writeback_ += pages;
}

void AddressSpace::writeback_done(int pages, int err) {
  if (err != 0) error_.store(err);
  std::lock_guard lock(wb_mu_);
  nr_writeback_ -= pages;
  if (nr_writeback_ == 0) wb_cv_.notify_all();
}

bool AddressSpace::writeback_idle() {
  std::lock_guard lock(wb_mu_);
  return nr_writeback_ == 0;
}

void AddressSpace::wait_writeback_idle() {
  std::unique_lock lock(wb_mu_);
  wb_cv_.wait(lock, [&] { return nr_writeback_ == 0; });
}

void AddressSpace::add_assoc(uint64_t bdev_index) {
  MutexLock lock(assoc_mu_);
  assoc_.insert(bdev_index);
}

std::vector<uint64_t> AddressSpace::take_assoc() {
  MutexLock lock(assoc_mu_);
  std::vector<uint64_t> out(assoc_.begin(), assoc_.end());
  assoc_.clear();
  return out;
}

}  // namespace cardfs::cache
