// PageCache::read_may_wait / write_may_wait: whether a buffered read or
// write would sleep (on the device, write-back or throttling), asked
// before running it by a server that keeps such requests off its one
// serving thread (fusefs/fuse/waiting_ops.h). Page lookups and the dirty
// counters only: no page is created, locked or read, and nothing changes.
#include <algorithm>

#include "cache/cache_impl.h"
#include "cache/read_path.h"

namespace cardfs::cache {

namespace {

// Calls check(index, page or nullptr, sectors touched) for each page of
// [offset, offset + len) until it returns true; returns that.
template <typename Check>
bool any_page(AddressSpace& as, uint64_t offset, size_t len, Check check) {
  uint64_t pos = offset;
  const uint64_t end = offset + len;
  while (pos < end) {
    const uint64_t index = pos / kPageSize;
    const uint32_t from = uint32_t(pos % kPageSize);
    const uint32_t to = uint32_t(std::min<uint64_t>(kPageSize, end - index * kPageSize));
    PageRef p = as.find(index);
    if (check(index, p.get(), from, to)) return true;
    pos = (index + 1) * kPageSize;
  }
  return false;
}

}  // namespace

bool PageCache::read_may_wait(AddressSpace& as, uint64_t offset, size_t len, uint64_t file_size) {
  if (offset >= file_size || len == 0) return false;  // read() returns 0 at once
  len = size_t(std::min<uint64_t>(len, file_size - offset));
  return any_page(as, offset, len, [](uint64_t, Page* p, uint32_t from, uint32_t to) {
    if (!p) return true;  // a miss: synchronous readahead, then a wait for it
    const uint8_t need = sector_mask(from, to);
    std::lock_guard lock(p->mu);
    // A marker starts asynchronous readahead, whose submission may wait
    // for a free request behind write-back.
    return (p->uptodate & need) != need || p->ra_marker;
  });
}

bool PageCache::write_may_wait(AddressSpace& as, uint64_t offset, size_t len, uint64_t file_size) {
  if (len == 0) return false;
  const uint64_t pages = (offset + len - 1) / kPageSize - offset / kPageSize + 1;
  const int64_t counted = impl_->throttled_pages() + int64_t(pages);
  if (counted > 0 && uint64_t(counted) > impl_->dirty_limit_pages.load(std::memory_order_relaxed))
    return true;  // balance_dirty_pages would pause the writer
  return any_page(as, offset, len, [&](uint64_t index, Page* p, uint32_t from, uint32_t to) {
    // Sectors written in part are read first unless uptodate or past EOF
    // (prepare_write); a fresh block needs no read, but which blocks are
    // fresh only mapping tells: such a write counts as one that may wait.
    uint8_t partial = 0;
    if (from % 512) partial |= uint8_t(1u << (from / 512));
    if (to % 512) partial |= uint8_t(1u << ((to - 1) / 512));
    partial &= uint8_t(~beyond_eof_mask(index, file_size));
    if (!p) return partial != 0;
    std::lock_guard lock(p->mu);
    // write_page locks the whole page and waits out its write-back.
    return p->writeback || p->locks != 0 || (partial & ~p->uptodate) != 0;
  });
}

}  // namespace cardfs::cache
