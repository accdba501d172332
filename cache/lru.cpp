// The LRU lists and reclaim (shrink_inactive_list in spirit).
#include "cache/lru.h"

#include <algorithm>
#include <map>

#include "base/log.h"
#include "cache/cache_impl.h"

namespace cardfs::cache {

void Lru::push_head_locked(List& l, Page* p, LruList which) {
  p->lru_prev = nullptr;
  p->lru_next = l.head;
  if (l.head) l.head->lru_prev = p;
  l.head = p;
  if (!l.tail) l.tail = p;
  p->lru = which;
  p->active.store(which == LruList::kActive, std::memory_order_relaxed);
  (which == LruList::kActive ? nr_active : nr_inactive)++;
}

void Lru::unlink_locked(Page* p) {
  if (p->lru == LruList::kNone) return;
  List& l = list_of(p->lru);
  (p->lru == LruList::kActive ? nr_active : nr_inactive)--;
  if (p->lru_prev) p->lru_prev->lru_next = p->lru_next;
  else l.head = p->lru_next;
  if (p->lru_next) p->lru_next->lru_prev = p->lru_prev;
  else l.tail = p->lru_prev;
  p->lru_prev = p->lru_next = nullptr;
  p->lru = LruList::kNone;
}

void Lru::add(Page* p) {
  std::lock_guard lock(mu);
  push_head_locked(inactive_, p, LruList::kInactive);
}

void Lru::remove(Page* p) {
  std::lock_guard lock(mu);
  unlink_locked(p);
}

void Lru::rotate_locked(Page* p) {
  unlink_locked(p);
  push_head_locked(inactive_, p, LruList::kInactive);
}

void Lru::balance_locked() {
  for (int i = 0; i < 64 && nr_active > 2 * nr_inactive && active_.tail; ++i) {
    Page* p = active_.tail;
    unlink_locked(p);
    if (p->referenced.exchange(false, std::memory_order_relaxed)) {
      push_head_locked(active_, p, LruList::kActive);  // used lately: another round
    } else {
      push_head_locked(inactive_, p, LruList::kInactive);
    }
  }
}

void Lru::mark_accessed(Page* p) {
  // inactive,unreferenced → inactive,referenced → active,unreferenced →
  // active,referenced: only the promotion needs the list lock.
  if (!p->referenced.load(std::memory_order_relaxed)) {
    p->referenced.store(true, std::memory_order_relaxed);
    return;
  }
  if (p->active.load(std::memory_order_relaxed)) return;
  std::lock_guard lock(mu);
  if (p->lru != LruList::kInactive) return;
  unlink_locked(p);
  p->referenced.store(false, std::memory_order_relaxed);
  push_head_locked(active_, p, LruList::kActive);
}

void PageCache::Impl::reclaim_if_needed() {
  for (int round = 0; round < 16; ++round) {
    int64_t n = counters.nr_pages.load(std::memory_order_relaxed);
    int64_t limit = int64_t(limit_pages.load(std::memory_order_relaxed));
    if (n < limit) return;
    if (shrink(size_t(n - limit + 1) + 15) > 0) continue;
    // Nothing clean to evict: wait for the write-back shrink started.
    dev.plug_flush();
    for (auto& as : all_spaces()) as->wait_writeback_idle();
    if (shrink(1) == 0 && round > 2) break;
  }
  if (counters.nr_pages.load() >= int64_t(limit_pages.load())) Counters::inc(counters.over_limit);
}

size_t PageCache::Impl::shrink(size_t want) {
  std::vector<Page*> victims;
  std::map<AddressSpace*, std::pair<std::shared_ptr<AddressSpace>, std::vector<uint64_t>>> dirty;
  {
    std::lock_guard lock(lru.mu);
    lru.balance_locked();
    size_t budget = std::min(lru.nr_inactive, std::max<size_t>(want * 16, 1024));
    for (size_t i = 0; i < budget && victims.size() < want; ++i) {
      Page* p = lru.inactive_tail_locked();
      if (!p) break;
      lru.rotate_locked(p);
      if (p->refs.load() > 1) continue;  // pinned
      bool busy, is_dirty;
      {
        std::lock_guard pl(p->mu);
        busy = p->locks != 0 || p->writeback;
        is_dirty = p->dirty != 0;
      }
      if (busy) continue;
      if (is_dirty) {
        if (held(*p->owner)) continue;  // the journal's checkpoint writes it
        auto& entry = dirty[p->owner];
        if (!entry.first) entry.first = p->owner->weak_from_this().lock();
        if (entry.first) entry.second.push_back(p->index);
        continue;
      }
      if (!p->owner->try_remove(p)) continue;
      lru.unlink_locked(p);
      victims.push_back(p);
    }
  }
  for (Page* p : victims) {
    Counters::add(counters.nr_pages, -1);
    Counters::inc(counters.evictions);
    unpin(p);
  }
  for (auto& [raw, entry] : dirty) {
    if (!entry.first) continue;
    std::sort(entry.second.begin(), entry.second.end());
    write_pages(*entry.first, entry.second, WbMode::kNoWait);
  }
  return victims.size();
}

}  // namespace cardfs::cache
