#include "cache/page.h"

#include <sys/mman.h>

#include <cstring>
#include <new>

namespace cardfs::cache {

FramePool::~FramePool() {
  for (std::byte* c : chunks_) ::munmap(c, kChunkBytes);
}

// A chunk, faulted in by one call. No MADV_HUGEPAGE: where defrag is
// "madvise" a huge page may cost a direct compaction of seconds.
std::byte* FramePool::map_chunk() {
  void* raw = ::mmap(nullptr, kChunkBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();  // out of memory is fatal, as in new
  auto* chunk = static_cast<std::byte*>(raw);
#ifdef MADV_POPULATE_WRITE
  if (::madvise(chunk, kChunkBytes, MADV_POPULATE_WRITE) != 0)
#endif
    for (size_t off = 0; off < kChunkBytes; off += kPageSize) chunk[off] = std::byte{0};
  return chunk;
}

std::byte* FramePool::get() {
  std::lock_guard lock(mu_);
  if (free_.empty()) {
    std::byte* chunk = map_chunk();
    chunks_.push_back(chunk);
    for (size_t off = kChunkBytes; off > 0; off -= kPageSize) free_.push_back(chunk + off - kPageSize);
  }
  std::byte* f = free_.back();
  free_.pop_back();
  return f;
}

void FramePool::put(std::byte* frame) {
  std::lock_guard lock(mu_);
  free_.push_back(frame);
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
