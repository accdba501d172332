// Lru: the active and inactive lists of every page in the cache (internal).
//
// New pages enter the inactive list; a second reference promotes a page to
// the active list (mark_page_accessed); under reclaim, the active list is
// kept at most about 2/3 of all pages by demoting its tail (pages used
// since their last look get one more round). Reclaim takes victims from
// the inactive tail. All list state is guarded by `mu`; the referenced and
// active flags are atomics so that a hit on an active page takes no lock.
#pragma once

#include <cstddef>
#include <mutex>

#include "cache/page.h"

namespace cardfs::cache {

class Lru {
 public:
  void add(Page* p);
  void remove(Page* p);
  void mark_accessed(Page* p);

  std::mutex mu;
  // Guarded by mu.
  size_t nr_active = 0;
  size_t nr_inactive = 0;
  Page* inactive_tail_locked() const { return inactive_.tail; }
  void rotate_locked(Page* p);  // inactive p to the inactive head
  void unlink_locked(Page* p);
  void balance_locked();        // demote until active <= 2 * inactive

 private:
  struct List {
    Page* head = nullptr;
    Page* tail = nullptr;
  };
  void push_head_locked(List& l, Page* p, LruList which);
  List& list_of(LruList which) { return which == LruList::kActive ? active_ : inactive_; }
  List active_;
  List inactive_;
};

}  // namespace cardfs::cache
