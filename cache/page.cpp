#include "cache/page.h"

#include "cache/page_pool.h"

namespace cardfs::cache {

void unpin(Page* p) {
  if (p->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) p->pool.destroy(p);
}

void Page::lock(uint8_t mask, bool stable) {
  std::unique_lock l(mu);
  cv.wait(l, [&] { return (locks & mask) == 0 && !(stable && writeback); });
  locks |= mask;
}

bool Page::try_lock(uint8_t mask, bool stable) {
  std::lock_guard l(mu);
  if ((locks & mask) || (stable && writeback)) return false;
  locks |= mask;
  return true;
}

void Page::unlock(uint8_t mask) {
  std::lock_guard l(mu);
  locks &= uint8_t(~mask);
  cv.notify_all();
}

void Page::wait_writeback() {
  std::unique_lock l(mu);
  cv.wait(l, [&] { return !writeback; });
}

bool Page::wait_uptodate(uint8_t mask) {
  std::unique_lock l(mu);
  cv.wait(l, [&] { return (uptodate & mask) == mask || (locks & mask) == 0; });
  return (uptodate & mask) == mask;
}

std::unique_lock<std::mutex> Page::lock_to_change() {
  std::unique_lock l(mu);
  if (lent > 0) {
    ++changers_waiting;
    cv.wait(l, [&] { return lent == 0; });
    --changers_waiting;
  }
  return l;
}

}  // namespace cardfs::cache
