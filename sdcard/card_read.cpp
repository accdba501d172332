// The Card's reads: host reads, checked page by page as a card's ECC
// checks them, and the patrol read fsck uses to find unreadable pages.
#include <algorithm>
#include <cstring>

#include "sdcard/card_impl.h"
#include "sdcard/geometry.h"
#include "sdcard/iov_cursor.h"

namespace cardfs::sdcard {

Result<uint64_t> segment_bytes(std::span<const iovec> segs) {
  uint64_t total = 0;
  for (const iovec& v : segs) {
    if (v.iov_len % kSectorBytes != 0)
      return Status::error(EINVAL, "segment length " + std::to_string(v.iov_len) + " is not a multiple of 512");
    total += v.iov_len;
  }
  return total;
}

// A host read: the flash pages it needs, read whole and checked (the
// card's ECC covers whole pages), straight into the host's buffer when a
// page lands whole in one segment, else into the pool and copied out.
class Card::Impl::ReadPlan {
 public:
  explicit ReadPlan(Card::Impl& card) : c_(card) {
    c_.read_pages.clear();
    c_.read_partials.clear();
    c_.read_iovs.clear();
  }

  // Sectors [first, first+n) of logical page lp, into the cursor's next bytes.
  Status add(uint32_t lp, uint32_t first, uint32_t n, IovCursor& cur) {
    const uint32_t pp = c_.ftl.locate(lp);
    const WriteBuffer::Page* buffered = c_.buffer.find(lp);
    if (buffered && buffered->present.none()) buffered = nullptr;
    bool covered = buffered != nullptr;
    for (uint32_t k = first; k < first + n && covered; ++k) covered = buffered->present[k];
    if (!covered && c_.ftl.lost(lp))
      return c_.flash.unreadable(lp, -1, "the copy its checkpoint names is gone (its out-of-band record was damaged)");
    const bool from_flash = !covered && pp != FlashTranslationLayer::kUnmapped;
    if (!buffered && !from_flash) {  // never written or trimmed: zeros
      cur.walk(size_t(n) * kSectorBytes, [](char* host, size_t len) { std::memset(host, 0, len); });
      return Status::ok();
    }
    if (!buffered && n == c_.geometry.sectors_per_page())
      if (const std::byte* whole = cur.take_contiguous(c_.geometry.page_bytes)) {
        c_.read_pages.push_back({pp, lp, const_cast<std::byte*>(whole)});
        return Status::ok();
      }
    c_.read_partials.push_back({from_flash ? c_.read_pages.size() : kNoRead, first, n, buffered, c_.read_iovs.size(), 0});
    if (from_flash) c_.read_pages.push_back({pp, lp, nullptr});
    cur.walk(size_t(n) * kSectorBytes, [&](char* host, size_t len) { c_.read_iovs.push_back({host, len}); });
    c_.read_partials.back().iov_end = c_.read_iovs.size();
    return Status::ok();
  }

  // Reads and checks the pages, then fills the host's bytes of the partial
  // ones (with the write buffer's newer sectors on top).
  Status run() {
    const size_t page_bytes = c_.geometry.page_bytes;
    c_.read_pool.resize(c_.read_partials.size() * page_bytes);
    for (size_t i = 0; i < c_.read_partials.size(); ++i) {
      std::byte* page = c_.read_pool.data() + i * page_bytes;
      if (c_.read_partials[i].read == kNoRead)
        std::memset(page, 0, page_bytes);
      else
        c_.read_pages[c_.read_partials[i].read].dest = page;
    }
    if (!c_.read_pages.empty()) {
      Status st = c_.flash.read(c_.read_pages);
      c_.lose_unnamed(c_.read_pages);
      CARDFS_RETURN_IF_ERROR(st);
    }
    for (size_t i = 0; i < c_.read_partials.size(); ++i) copy_out(c_.read_partials[i], c_.read_pool.data() + i * page_bytes);
    return Status::ok();
  }

 private:
  static constexpr size_t kNoRead = SIZE_MAX;

  void copy_out(const PartialRead& p, std::byte* page) {
    for (uint32_t k = p.first; p.buffered && k < p.first + p.sectors; ++k)
      if (p.buffered->present[k])
        std::memcpy(page + size_t(k) * kSectorBytes, p.buffered->bytes() + size_t(k) * kSectorBytes, kSectorBytes);
    const std::byte* src = page + size_t(p.first) * kSectorBytes;
    for (size_t v = p.iov_begin; v < p.iov_end; ++v) {
      std::memcpy(c_.read_iovs[v].iov_base, src, c_.read_iovs[v].iov_len);
      src += c_.read_iovs[v].iov_len;
    }
  }

  Card::Impl& c_;
};

Status Card::Impl::do_read(uint64_t sector, std::span<const iovec> segments) {
  CARDFS_ASSIGN_OR_RETURN(uint64_t bytes, segment_bytes(segments));
  const uint64_t count = bytes / kSectorBytes;
  CARDFS_RETURN_IF_ERROR(check_range(sector, count));
  for (uint64_t bad : faults.read_error_sectors)
    if (bad >= sector && bad < sector + count)
      return Status::error(EIO, "read error at sector " + std::to_string(bad));
  counters.host_sectors_read += count;
  counters.time.transfer += transfer_time(profile, bytes);
  const uint32_t spp = geometry.sectors_per_page();
  ReadPlan plan(*this);
  int64_t last_au = -1;
  IovCursor cur(segments);
  for (uint64_t s = sector; s < sector + count;) {
    const uint32_t lp = uint32_t(s / spp), first = uint32_t(s % spp);
    const uint32_t n = uint32_t(std::min<uint64_t>(spp - first, sector + count - s));
    s += n;
    // A read that runs into another AU pays for a second map lookup: the
    // boundary flashbench -a finds.
    if (last_au >= 0 && lp / geometry.pages_per_au != uint64_t(last_au)) counters.time.read += profile.page_read;
    last_au = lp / geometry.pages_per_au;
    CARDFS_RETURN_IF_ERROR(plan.add(lp, first, n, cur));
  }
  return plan.run();
}

// A clean open reads no record, so a page whose record was damaged while
// the card was off is found at its first read (by the scan otherwise):
// from then on it is lost, as the scan would have made it: reads fail
// without reading it, a partial write's other sectors are zeros, and the
// next checkpoint keeps naming it.
void Card::Impl::lose_unnamed(std::span<const PageRead> pages) {
  for (const PageFault& f : flash.last_faults())
    if (f.record && ftl.locate(pages[f.index].logical_page) == pages[f.index].physical_page)
      ftl.mark_lost(pages[f.index].logical_page);
}

Result<std::vector<uint32_t>> Card::Impl::patrol() {
  if (closed) return Status::error(EIO, "card is closed");
  constexpr size_t kBatch = 64;  // pages read and checked at a time
  std::vector<uint32_t> bad;
  std::vector<std::byte> data(kBatch * geometry.page_bytes);
  std::vector<PageRead> batch;
  auto check = [&]() -> Status {
    CARDFS_ASSIGN_OR_RETURN(std::vector<size_t> failed, flash.patrol(batch));
    for (size_t i : failed) bad.push_back(batch[i].logical_page);
    lose_unnamed(batch);
    batch.clear();
    return Status::ok();
  };
  for (uint32_t lp = 0; lp < geometry.user_pages(); ++lp) {
    if (ftl.lost(lp)) bad.push_back(lp);
    const uint32_t pp = ftl.locate(lp);
    if (pp == FlashTranslationLayer::kUnmapped) continue;
    batch.push_back({pp, lp, data.data() + batch.size() * geometry.page_bytes});
    if (batch.size() == kBatch) CARDFS_RETURN_IF_ERROR(check());
  }
  CARDFS_RETURN_IF_ERROR(check());
  std::sort(bad.begin(), bad.end());
  return bad;
}

Result<std::vector<uint32_t>> Card::unreadable_pages() {
  std::lock_guard turn(impl_->turn_mu);
  std::lock_guard state(impl_->state_mu);
  return impl_->patrol();
}

}  // namespace cardfs::sdcard
