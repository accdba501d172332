// Buffered writes (write_begin / copy / write_end), truncate and hole
// punching of cached pages.
#include <algorithm>
#include <cstring>

#include "base/log.h"
#include "cache/cache_impl.h"
#include "cache/read_path.h"

namespace cardfs::cache {

namespace {

struct SlotRange {
  uint32_t first;
  uint32_t last;  // inclusive
};

SlotRange slots_of(const PageCache::Impl& c, uint32_t from, uint32_t to) {
  return {from / c.block_size, (to - 1) / c.block_size};
}

}  // namespace

// write_begin: maps (allocating) the blocks under [from, *to), zeroes fresh
// blocks whole and marks them dirty entirely (their old disk bytes are
// garbage), zeroes what lies past EOF, and reads only partially covered
// sectors that hold file data. *dirty_out: sectors to dirty besides the
// written ones. When a block after the first cannot be mapped (ENOSPC),
// *to is cut back to its start: the write stops short there, and every
// block mapped so far is written (never left allocated with stale bytes).
static Status prepare_write(PageCache::Impl& c, AddressSpace& as, Page* p, uint32_t from,
                            uint32_t* to, uint64_t file_size, uint8_t* dirty_out) {
  uint8_t fresh = 0, touched = 0;
  SlotRange r = slots_of(c, from, *to);
  for (uint32_t slot = r.first; slot <= r.last; ++slot) {
    auto m = c.map_block(as, p, slot, true);
    if (m.is_ok() && !m->mapped) m = Status::error(EIO, "get_block(create) returned a hole");
    if (!m.is_ok()) {
      if (slot == r.first) return m.status();
      *to = slot * c.block_size;
      break;
    }
    if (m->fresh) fresh |= c.slot_mask(slot);
    touched |= c.slot_mask(slot);
  }
  const uint32_t end = *to;
  uint8_t covered = sector_mask(from, end);
  uint8_t partial = 0;
  if (from % 512) partial |= uint8_t(1u << (from / 512));
  if (end % 512) partial |= uint8_t(1u << ((end - 1) / 512));
  uint8_t beyond = beyond_eof_mask(p->index, file_size);
  uint8_t need_read, zero;
  {
    // Sectors past EOF hold zeros whatever the disk has; those in the
    // blocks this write maps are dirtied so the disk agrees.
    std::lock_guard lock(p->mu);
    zero = uint8_t((fresh | beyond) & ~p->uptodate);
    for (uint32_t s = 0; s < kSectorsPerPage; ++s)
      if (zero & (1u << s)) std::memset(p->data + s * 512, 0, 512);
    p->uptodate |= zero;
    need_read = uint8_t(partial & covered & ~p->uptodate);
  }
  *dirty_out = uint8_t(fresh | (zero & beyond & touched));
  if (need_read) return c.read_sectors(as, p, need_read, blockdev::kBioSync);
  return Status::ok();
}

// Copies bytes into the page at index from offset `from`: the number of
// bytes written, fewer than asked when a block could not be mapped.
static Result<size_t> write_page(PageCache::Impl& c, AddressSpace& as, uint64_t index,
                                 uint32_t from, std::span<const std::byte> bytes,
                                 uint64_t file_size) {
  bool created;
  PageRef p = c.find_or_create(as, index, &created);
  if (!created) c.lock_page(p.get(), kAllSectors, true);
  uint32_t to = from + uint32_t(bytes.size());
  uint8_t fresh = 0;
  Status st = prepare_write(c, as, p.get(), from, &to, file_size, &fresh);
  if (st.is_ok()) {
    uint8_t covered = sector_mask(from, to);
    {
      auto lock = p->lock_to_change();
      std::memcpy(p->data + from, bytes.data(), to - from);
      p->uptodate |= covered;
    }
    c.mark_dirty(p.get(), uint8_t(covered | fresh));
    c.mark_accessed(p.get());
  }
  p->unlock(kAllSectors);
  if (!st.is_ok()) return st;
  return size_t(to - from);
}

void PageCache::throttle() { impl_->balance_dirty_pages(); }

Result<size_t> PageCache::write(AddressSpace& as, uint64_t offset,
                                std::span<const std::byte> data, uint64_t file_size,
                                bool throttle) {
  size_t done = 0;
  while (done < data.size()) {
    uint64_t pos = offset + done;
    uint32_t from = uint32_t(pos % kPageSize);
    size_t n = std::min<size_t>(kPageSize - from, data.size() - done);
    // The pages before this one were just written: EOF is at least here.
    uint64_t size_now = done == 0 ? file_size : std::max(file_size, pos);
    auto w = write_page(*impl_, as, pos / kPageSize, from, data.subspan(done, n), size_now);
    if (!w.is_ok()) {
      if (done > 0) break;  // a short write: what was copied stays
      return w.status();
    }
    done += *w;
    if (throttle) impl_->balance_dirty_pages();
    if (*w < n) break;
  }
  return done;
}

// Zeroes bytes [from, to) of the page at index. Blocks wholly inside lose
// their mapping and dirt (the caller frees them); blocks partly inside stay,
// and their zeroed sectors are dirtied so the disk is zeroed too.
static Status zero_in_page(PageCache::Impl& c, AddressSpace& as, uint64_t index, uint32_t from,
                           uint32_t to) {
  bool created;
  PageRef p = c.find_or_create(as, index, &created);
  if (!created) c.lock_page(p.get(), kAllSectors, true);
  Status st = Status::ok();
  SlotRange r = slots_of(c, from, to);
  for (uint32_t slot = r.first; slot <= r.last && st.is_ok(); ++slot) {
    uint32_t bstart = slot * c.block_size, bend = bstart + c.block_size;
    uint32_t zf = std::max(from, bstart), zt = std::min(to, bend);
    uint8_t mask = c.slot_mask(slot);
    if (zf == bstart && zt == bend) {
      c.clear_dirty(p.get(), mask);
      auto lock = p->lock_to_change();
      std::memset(p->data + bstart, 0, c.block_size);
      p->uptodate |= mask;
      p->mapped &= uint8_t(~(1u << slot));
      continue;
    }
    auto m = c.map_block(as, p.get(), slot, false);
    if (!m.is_ok()) {
      st = m.status();
      break;
    }
    uint8_t part = 0;
    if (zf % 512) part |= uint8_t(1u << (zf / 512));
    if (zt % 512) part |= uint8_t(1u << ((zt - 1) / 512));
    uint8_t need;
    {
      std::lock_guard lock(p->mu);
      need = uint8_t(part & ~p->uptodate);
    }
    if (need && m->mapped) st = c.read_sectors(as, p.get(), need, blockdev::kBioSync);
    if (!st.is_ok()) break;
    uint8_t zeroed = sector_mask(zf, zt);
    {
      auto lock = p->lock_to_change();
      if (!m->mapped) {
        for (uint32_t s = 0; s < kSectorsPerPage; ++s)
          if (need & (1u << s)) std::memset(p->data + s * 512, 0, 512);
        p->uptodate |= need;
      }
      std::memset(p->data + zf, 0, zt - zf);
      p->uptodate |= uint8_t(zeroed & ~part);
    }
    if (m->mapped) c.mark_dirty(p.get(), zeroed);
  }
  p->unlock(kAllSectors);
  return st;
}

void PageCache::Impl::drop_range(AddressSpace& as, uint64_t first, uint64_t last) {
  if (first > last) return;
  for (auto& p : as.pages_in(first, last)) {
    lock_page(p.get(), kAllSectors, true);
    drop_page(p.get());
    p->unlock(kAllSectors);
  }
}

void PageCache::truncate_pages(AddressSpace& as, uint64_t new_size) {
  uint64_t first_gone = (new_size + kPageSize - 1) / kPageSize;
  impl_->drop_range(as, first_gone, ~0ull);
  if (new_size % kPageSize == 0) return;
  Status st = zero_in_page(*impl_, as, new_size / kPageSize, uint32_t(new_size % kPageSize),
                           kPageSize);
  if (!st.is_ok()) {
    logger("cache")->error("truncate of inode {}: zeroing the tail: {}", as.ino(),
                           st.to_string());
  }
}

void PageCache::punch_pages(AddressSpace& as, uint64_t offset, uint64_t len) {
  if (len == 0) return;
  uint64_t end = offset + len;
  uint64_t first_whole = (offset + kPageSize - 1) / kPageSize;
  uint64_t end_whole = end / kPageSize;  // exclusive
  if (first_whole < end_whole) impl_->drop_range(as, first_whole, end_whole - 1);
  Status st = Status::ok();
  if (offset % kPageSize) {
    uint64_t index = offset / kPageSize;
    uint64_t to = std::min<uint64_t>(end, (index + 1) * kPageSize) - index * kPageSize;
    st = zero_in_page(*impl_, as, index, uint32_t(offset % kPageSize), uint32_t(to));
  }
  if (st.is_ok() && end % kPageSize && end / kPageSize >= first_whole) {
    st = zero_in_page(*impl_, as, end / kPageSize, 0, uint32_t(end % kPageSize));
  }
  if (!st.is_ok()) {
    logger("cache")->error("hole punch of inode {}: {}", as.ino(), st.to_string());
  }
}

}  // namespace cardfs::cache
