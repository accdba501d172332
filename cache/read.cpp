// Buffered reads and on-demand readahead (Linux's mm/readahead.c ideas).
//
// Per open file, ReadaheadState holds the current window [start, start +
// size) and async_size: the page at start + size - async_size carries the
// readahead marker, and a reader reaching it starts the next window, twice
// as large, up to the queue's read_ahead_kb. A read that misses and is not
// sequential with the previous one reads only what was asked.
#include <algorithm>
#include <bit>

#include "cache/cache_impl.h"
#include "cache/io.h"
#include "cache/read_path.h"

namespace cardfs::cache {

namespace {

uint32_t init_ra_size(uint64_t req, uint32_t max) {
  uint64_t size = std::bit_ceil(std::max<uint64_t>(req, 1));
  if (size <= max / 32) size *= 4;
  else if (size <= max / 4) size *= 2;
  else size = max;
  return uint32_t(std::min<uint64_t>(size, max));
}

uint32_t next_ra_size(uint32_t cur, uint32_t max) {
  if (cur < max / 16) return 4 * cur;
  if (cur <= max / 2) return 2 * cur;
  return max;
}

}  // namespace

uint8_t beyond_eof_mask(uint64_t index, uint64_t file_size) {
  uint64_t page_start = index * kPageSize;
  if (file_size <= page_start) return kAllSectors;
  uint64_t in_page = file_size - page_start;
  if (in_page >= kPageSize) return 0;
  uint32_t first_beyond = uint32_t((in_page + 511) / 512);
  return uint8_t(kAllSectors & ~((1u << first_beyond) - 1));
}

ReadPath::ReadPath(PageCache::Impl& c) : c_(c) {}

// The window's bound: read_ahead_kb, or for a request larger than that up
// to the device's largest request (Linux's bdi io_pages rule, so a 1 MiB
// FUSE read is not cut into 128 KiB windows). 0 turns readahead off.
uint32_t ReadPath::max_ra_pages(uint64_t req) const {
  uint64_t max = uint64_t(c_.dev.read_ahead_kb()) * 1024 / kPageSize;
  uint64_t io = uint64_t(c_.dev.io_kb()) * 1024 / kPageSize;
  if (max > 0 && req > max && io > max) max = std::min(req, io);
  return uint32_t(max);
}

// Creates the missing pages of [start, start + nr) (not past EOF) and
// submits their reads; the page at `marker` gets the readahead marker.
void ReadPath::read_pages(AddressSpace& as, uint64_t start, uint64_t nr, uint64_t marker,
                          uint64_t demand_end, uint64_t file_size, uint32_t flags) {
  if (file_size == 0) return;
  uint64_t end = std::min(start + nr, (file_size - 1) / kPageSize + 1);
  std::vector<Extent> ext;
  for (uint64_t i = start; i < end; ++i) {
    bool created = false;
    PageRef p = c_.find_or_create(as, i, &created);
    if (!created) continue;
    bool speculative = i >= demand_end;
    {
      std::lock_guard lock(p->mu);
      p->ra_marker = (i == marker);
      p->ra_unused = speculative;
    }
    if (speculative) Counters::inc(c_.counters.ra_pages);
    add_page_extents(as, std::move(p), file_size, ext);
  }
  if (!ext.empty()) {
    submit_extents(c_.dev, blockdev::BioOp::kRead, flags, std::move(ext), true,
                   std::max<uint64_t>(nr, 1) * kPageSize);
  }
}

// Maps a new, locked page and queues the reads that fill it; holes and the
// part past EOF are zeroed at once. The page unlocks when filled.
void ReadPath::add_page_extents(AddressSpace& as, PageRef p, uint64_t file_size,
                                std::vector<Extent>& ext) {
  uint8_t zero = beyond_eof_mask(p->index, file_size);
  size_t first_ext = ext.size();
  auto* unit = new IoUnit;
  for (uint32_t slot = 0; slot < c_.blocks_per_page; ++slot) {
    uint8_t want = uint8_t(c_.slot_mask(slot) & ~zero);
    if (!want) continue;
    auto m = c_.map_block(as, p.get(), slot, false);
    if (!m.is_ok() || !m->mapped) {
      if (!m.is_ok()) {
        ext.resize(first_ext);
        delete unit;
        std::lock_guard lock(p->mu);
        p->read_error = true;
        p->locks = 0;
        p->cv.notify_all();
        return;
      }
      zero |= want;
      continue;
    }
    for (uint32_t s = slot * c_.sectors_per_block; s < (slot + 1) * c_.sectors_per_block; ++s) {
      uint64_t disk = m->sector + (s - slot * c_.sectors_per_block);
      Extent* last = ext.size() > first_ext ? &ext.back() : nullptr;
      if (last && last->sector + last->len / 512 == disk && last->data + last->len == p->data + s * 512) {
        last->len += 512;
      } else {
        ext.push_back({disk, p->data + s * 512, 512, unit});
      }
    }
  }
  zero_sectors(p.get(), zero);
  if (ext.size() == first_ext) {
    delete unit;
    std::lock_guard lock(p->mu);
    p->uptodate = kAllSectors;
    p->locks = 0;
    p->cv.notify_all();
    return;
  }
  Page* raw = p.release();
  c_.async_read_started();
  unit->done = [&c = c_, raw](int err) {
    {
      std::lock_guard lock(raw->mu);
      if (err == 0) raw->uptodate = kAllSectors;
      else raw->read_error = true;
      raw->locks = 0;
      raw->cv.notify_all();
    }
    if (err == 0) Counters::inc(c.counters.pgpgin);
    unpin(raw);
    c.async_read_done();
  };
}

void ReadPath::sync_readahead(AddressSpace& as, ReadaheadState& ra, uint64_t index,
                              uint64_t req, uint64_t file_size) {
  uint32_t max = max_ra_pages(req);
  uint64_t prev = ra.prev_pos == ~0ull ? ~0ull : ra.prev_pos / kPageSize;
  bool sequential = prev != ~0ull && index >= prev && index - prev <= 1;
  bool expected = ra.size > 0 && (index == ra.start + ra.size - ra.async_size ||
                                  index == ra.start + ra.size);
  if (max == 0 || (index != 0 && !sequential && !expected)) {
    // Random access: read what was asked, nothing more.
    read_pages(as, index, std::max<uint64_t>(req, 1), ~0ull, index + req, file_size, 0);
    return;
  }
  if (expected) {
    ra.start += ra.size;
    ra.size = next_ra_size(ra.size, max);
    ra.async_size = ra.size;
    if (index < ra.start) ra.start = index;  // the miss sits at the old window's end
  } else {
    ra.start = index;
    ra.size = init_ra_size(req, max);
    ra.async_size = ra.size > req ? ra.size - uint32_t(req) : ra.size;
  }
  if (index == ra.start && ra.size == ra.async_size) {
    // The marker would sit on the page being read: put it further on, so
    // that this reader reaches it and the next window overlaps its reads.
    uint32_t add = next_ra_size(ra.size, max);
    if (ra.size + add <= max) {
      ra.async_size = add;
      ra.size += add;
    } else {
      ra.size = max;
      ra.async_size = max / 2;
    }
  }
  submit_window(as, ra, index + req, file_size);
}

void ReadPath::async_readahead(AddressSpace& as, ReadaheadState& ra, uint64_t index,
                               uint64_t req, uint64_t file_size) {
  uint32_t max = max_ra_pages(req);
  if (max == 0) return;
  if (ra.size > 0 && index == ra.start + ra.size - ra.async_size) {
    ra.start += ra.size;
    ra.size = next_ra_size(ra.size, max);
  } else {
    // A marker from another window (another reader of the file): restart
    // from the first page not cached after this one.
    uint64_t next = index + 1;
    while (next < index + max && as.find(next)) ++next;
    ra.start = next;
    ra.size = next_ra_size(uint32_t(std::max<uint64_t>(next - index, 1)), max);
  }
  ra.async_size = ra.size;
  submit_window(as, ra, 0, file_size);
}

void ReadPath::submit_window(AddressSpace& as, const ReadaheadState& ra, uint64_t demand_end,
                             uint64_t file_size) {
  uint64_t marker = ra.start + ra.size - ra.async_size;
  read_pages(as, ra.start, ra.size, marker, demand_end, file_size, blockdev::kBioReadahead);
}

}  // namespace cardfs::cache
