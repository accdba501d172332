// PageCache::read: find each page (reading ahead on misses and markers),
// wait until it is uptodate, copy out.
#include <algorithm>
#include <cstring>

#include "cache/read_path.h"

namespace cardfs::cache {

// Reads the sectors of p below EOF that are not uptodate; zeroes the rest.
Status ReadPath::fill_page(AddressSpace& as, Page* p, uint64_t file_size) {
  c_.lock_page(p, kAllSectors);
  uint8_t beyond = beyond_eof_mask(p->index, file_size);
  uint8_t missing;
  {
    std::lock_guard lock(p->mu);
    missing = uint8_t(~p->uptodate);
    for (uint32_t s = 0; s < kSectorsPerPage; ++s)
      if (missing & beyond & (1u << s)) std::memset(p->data + s * 512, 0, 512);
    p->uptodate |= beyond;
    p->read_error = false;
  }
  Status st = Status::ok();
  if (missing & ~beyond) st = c_.read_sectors(as, p, uint8_t(missing & ~beyond), 0);
  p->unlock(kAllSectors);
  return st;
}

Result<PageRef> ReadPath::get_page(AddressSpace& as, ReadaheadState& ra, uint64_t index,
                                   uint64_t req, uint8_t need, uint64_t file_size) {
  PageRef p = as.find(index);
  bool found = bool(p);
  if (found) {
    bool marker, ra_hit, ready;
    {
      std::lock_guard lock(p->mu);
      marker = p->ra_marker;
      ra_hit = p->ra_unused;
      p->ra_marker = p->ra_unused = false;
      ready = (p->uptodate & need) == need;
    }
    if (ra_hit) Counters::inc(c_.counters.ra_hits);
    if (marker) async_readahead(as, ra, index, req, file_size);
    if (ready) {  // the common case: one shard lock, one page lock
      Counters::inc(c_.counters.hits);
      return p;
    }
  } else {
    Counters::inc(c_.counters.misses);
    sync_readahead(as, ra, index, req, file_size);
    p = as.find(index);
  }
  if (!p) {  // evicted between readahead and now, or past a readahead error
    bool created;
    p = c_.find_or_create(as, index, &created);
    if (created) p->unlock(kAllSectors);
  }
  c_.dev.plug_flush();
  if (p->wait_uptodate(need)) {
    if (found) Counters::inc(c_.counters.hits);
    return p;
  }
  if (found) Counters::inc(c_.counters.misses);
  CARDFS_RETURN_IF_ERROR(fill_page(as, p.get(), file_size));
  return p;
}

namespace {

// The loop of read() and read_view(): each page of [offset, offset + len)
// in turn, uptodate and pinned, handed to take(page, from, n, done).
template <typename Take>
Result<size_t> read_loop(PageCache::Impl& impl, AddressSpace& as, ReadaheadState& ra,
                         uint64_t offset, size_t len, uint64_t file_size, Take take) {
  if (offset >= file_size || len == 0) return size_t(0);
  len = size_t(std::min<uint64_t>(len, file_size - offset));
  uint64_t last = (offset + len - 1) / kPageSize;
  ReadPath path(impl);
  size_t done = 0;
  while (done < len) {
    uint64_t pos = offset + done;
    uint64_t index = pos / kPageSize;
    uint32_t from = uint32_t(pos % kPageSize);
    uint32_t n = uint32_t(std::min<uint64_t>(kPageSize - from, len - done));
    auto page = path.get_page(as, ra, index, last - index + 1, sector_mask(from, from + n),
                              file_size);
    if (!page.is_ok()) {
      if (done > 0) break;
      return page.status();
    }
    impl.mark_accessed(page->get());
    take(std::move(*page), from, n, done);
    done += n;
  }
  ra.prev_pos = offset + done;
  return done;
}

}  // namespace

Result<size_t> PageCache::read(AddressSpace& as, ReadaheadState& ra, uint64_t offset,
                               std::span<std::byte> out, uint64_t file_size) {
  return read_loop(*impl_, as, ra, offset, out.size(), file_size,
                   [&](PageRef p, uint32_t from, uint32_t n, size_t done) {
                     std::lock_guard lock(p->mu);
                     std::memcpy(out.data() + done, p->data + from, n);
                   });
}

Result<size_t> PageCache::read_view(AddressSpace& as, ReadaheadState& ra, uint64_t offset,
                                    size_t len, uint64_t file_size, ReadView& view) {
  view.clear();
  return read_loop(*impl_, as, ra, offset, len, file_size,
                   [&](PageRef p, uint32_t from, uint32_t n, size_t) {
                     view.iov_.push_back({p->data + from, n});
                     view.pins_.push_back(p.release());
                   });
}

std::span<const iovec> ReadView::lend() {
  if (lent_) return iov_;
  lent_ = true;
  size_t copied = 0;
  for (size_t i = 0; i < pins_.size(); ++i) {
    Page* p = pins_[i];
    {
      std::lock_guard lock(p->mu);
      if (p->changers_waiting == 0) {
        ++p->lent;
        continue;
      }
      if (copied == 0) {  // sized before any span points into it
        size_t total = 0;
        for (const iovec& v : iov_) total += v.iov_len;
        if (copies_.size() < total) copies_.resize(total);
      }
      std::byte* to = copies_.data() + copied;
      std::memcpy(to, iov_[i].iov_base, iov_[i].iov_len);
      iov_[i].iov_base = to;
      copied += iov_[i].iov_len;
    }
    unpin(p);  // the copy needs the page no more
    pins_[i] = nullptr;
  }
  return iov_;
}

void ReadView::clear() {
  for (Page* p : pins_) {
    if (!p) continue;
    if (lent_) {
      std::lock_guard lock(p->mu);
      if (--p->lent == 0 && p->changers_waiting > 0) p->cv.notify_all();
    }
    unpin(p);
  }
  pins_.clear();
  iov_.clear();
  lent_ = false;
}

}  // namespace cardfs::cache
