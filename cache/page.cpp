#include "cache/page.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace cardfs::cache {

FramePool::~FramePool() {
  for (std::byte* f : free_) std::free(f);
}

std::byte* FramePool::get() {
  {
    std::lock_guard lock(mu_);
    if (!free_.empty()) {
      std::byte* f = free_.back();
      free_.pop_back();
      return f;
    }
  }
  void* mem = std::aligned_alloc(kPageSize, kPageSize);
  if (!mem) throw std::bad_alloc();  // out of memory is fatal, as in new
  return static_cast<std::byte*>(mem);
}

void FramePool::put(std::byte* frame) {
  {
    std::lock_guard lock(mu_);
    if (free_.size() < max_free_) {
      free_.push_back(frame);
      return;
    }
  }
  std::free(frame);
}

Page::Page(AddressSpace* o, uint64_t i, FramePool& fp)
    : owner(o), index(i), pool(fp), data(fp.get()) {}

Page::~Page() { pool.put(data); }

void unpin(Page* p) {
  if (p->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete p;
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

}  // namespace cardfs::cache
