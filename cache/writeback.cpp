// Write-back: gathering an inode's dirty pages in file order, mapping them,
// sorting by disk sector and submitting under one plug; durability calls.
#include <algorithm>
#include <bit>

#include "base/log.h"
#include "cache/cache_impl.h"
#include "cache/io.h"

namespace cardfs::cache {

namespace {
constexpr uint64_t kMaxBioBytes = 1u << 20;  // mpage bios: 256 pages at most
}

// Takes the page's dirty sectors into write-back and appends their
// extents; false when there is nothing to write or it cannot be now.
static bool start_page_writeback(PageCache::Impl& c, AddressSpace& as, PageRef p, WbMode mode,
                                 std::vector<Extent>& ext) {
  if (mode == WbMode::kSync) {
    c.lock_page(p.get(), kAllSectors, true);
  } else if (!p->try_lock(kAllSectors)) {
    return false;
  }
  uint8_t mask;
  uint8_t mapped;
  std::array<uint64_t, kMaxBlocksPerPage> sectors;
  {
    std::lock_guard lock(p->mu);
    mask = p->writeback ? 0 : p->dirty;
    mapped = p->mapped;
    sectors = p->map_sector;
  }
  auto slot_sector = [&](uint32_t s) -> uint64_t {
    uint32_t slot = c.slot_of_sector(s);
    uint64_t base = as.is_bdev() ? p->index * kSectorsPerPage + slot * c.sectors_per_block
                                 : sectors[slot];
    return base + (s - slot * c.sectors_per_block);
  };
  for (uint32_t s = 0; s < kSectorsPerPage && mask; ++s) {
    if ((mask & (1u << s)) && !as.is_bdev() && !(mapped & (1u << c.slot_of_sector(s)))) {
      logger("cache")->error("{} page {}: dirty sector {} has no block", as.describe(),
                             p->index, s);
      mask = 0;
    }
  }
  if (!mask) {
    p->unlock(kAllSectors);
    return false;
  }
  {
    std::lock_guard lock(p->mu);
    p->dirty = 0;
    p->writeback = true;
    as.remove_dirty(p->index);
  }
  Counters::add(c.counters.nr_dirty, -1);
  Counters::add(c.counters.nr_writeback, 1);
  as.writeback_started(1);
  auto* unit = new IoUnit;
  for (uint32_t s = 0; s < kSectorsPerPage; ++s) {
    if (!(mask & (1u << s))) continue;
    uint64_t disk = slot_sector(s);
    std::byte* data = p->data + s * 512;
    Extent* last = ext.empty() ? nullptr : &ext.back();
    if (last && last->unit == unit && last->sector + last->len / 512 == disk &&
        last->data + last->len == data) {
      last->len += 512;
    } else {
      ext.push_back({disk, data, 512, unit});
    }
  }
  int sectors_out = std::popcount(mask);
  p->unlock(kAllSectors);
  Page* raw = p.release();
  unit->done = [&c, raw, sectors_out](int err) {
    AddressSpace* owner = raw->owner;
    {
      std::lock_guard lock(raw->mu);
      raw->writeback = false;
      raw->cv.notify_all();
    }
    Counters::add(c.counters.nr_writeback, -1);
    Counters::inc(c.counters.pgpgout);
    Counters::inc(c.counters.sectors_out, uint64_t(sectors_out));
    if (err != 0) {
      Counters::inc(c.counters.writeback_errors);
      logger("cache")->error("write-back of {} page {} failed: errno {}", owner->describe(),
                             raw->index, err);
    }
    // Unpinned first: once writeback_done() wakes a waiter, the cache may
    // be destroyed (~PageCache waits for nothing more), and a last unpin
    // after that returned the frame to a freed pool (found by TSan).
    unpin(raw);
    owner->writeback_done(1, err);
  };
  return true;
}

size_t PageCache::Impl::write_pages(AddressSpace& as, const std::vector<uint64_t>& indices,
                                    WbMode mode) {
  std::vector<Extent> ext;
  size_t pages = 0;
  for (uint64_t index : indices) {
    PageRef p = as.find(index);
    if (p && start_page_writeback(*this, as, std::move(p), mode, ext)) ++pages;
  }
  if (ext.empty()) return pages;
  uint32_t flags = (mode == WbMode::kSync ? uint32_t(blockdev::kBioSync) : 0u) |
                   (as.is_bdev() ? uint32_t(blockdev::kBioMeta) : 0u);
  submit_extents(dev, blockdev::BioOp::kWrite, flags, std::move(ext),
                 multipage.load(std::memory_order_relaxed), kMaxBioBytes);
  return pages;
}

size_t PageCache::Impl::write_back_as(AddressSpace& as, uint64_t first, uint64_t last,
                                      WbMode mode, size_t max) {
  return write_pages(as, as.dirty_in(first, last, max), mode);
}

void PageCache::Impl::note_dirty_inode(AddressSpace& as) {
  std::lock_guard lock(dirty_list_mu);
  if (as.on_dirty_list) return;
  as.on_dirty_list = true;
  dirty_list.push_back(as.shared_from_this());
}

// Held metadata (a journal's) is made durable by the journal's commit, not
// here: fsync and sync_all then write and flush file data only.
Status PageCache::Impl::sync_metadata(const std::vector<uint64_t>* only) {
  if (hold_metadata.load()) {
    dev.plug_flush();
    return Status::ok();
  }
  if (only) {
    write_pages(*bdev, *only, WbMode::kSync);
  } else {
    write_back_as(*bdev, 0, ~0ull, WbMode::kSync, SIZE_MAX);
  }
  dev.plug_flush();
  bdev->wait_writeback_idle();
  if (bdev->error()) return Status::error(bdev->error(), "metadata write-back failed");
  return Status::ok();
}

Status PageCache::Impl::flush_device() {
  auto bio = std::make_unique<blockdev::Bio>();
  bio->op = blockdev::BioOp::kFlush;
  bio->flags = blockdev::kBioSync;
  blockdev::set_submitter_from_current_thread(*bio);
  int st = blockdev::submit_and_wait(dev, std::move(bio));
  if (st != 0) return Status::error(-st, "device cache flush failed");
  return Status::ok();
}

static Status space_error(const AddressSpace& as) {
  if (as.error() == 0) return Status::ok();
  return Status::error(as.error(), "write-back of " + as.describe() + " failed");
}

Status PageCache::write_back_range(AddressSpace& as, uint64_t start, uint64_t end, bool wait) {
  if (end <= start) return Status::ok();
  uint64_t last = (end - 1) / kPageSize;
  impl_->write_back_as(as, start / kPageSize, last, wait ? WbMode::kSync : WbMode::kNoWait,
                       SIZE_MAX);
  if (!wait) return Status::ok();
  impl_->dev.plug_flush();
  as.wait_writeback_idle();
  return space_error(as);
}

Status PageCache::fsync(AddressSpace& as, bool datasync) {
  return sync_range(as, 0, ~0ull, datasync);
}

// The data and the metadata go out together and are waited for once: a
// completed write is in the card's volatile cache, not yet durable, so
// waiting for the data before submitting the metadata ordered nothing on
// the medium. Durability (and the order that matters) is the flush below,
// issued only once both have completed.
Status PageCache::sync_range(AddressSpace& as, uint64_t start, uint64_t end, bool datasync) {
  if (end > start)
    impl_->write_back_as(as, start / kPageSize, (end - 1) / kPageSize, WbMode::kSync, SIZE_MAX);
  std::vector<uint64_t> assoc = as.take_assoc();
  Status meta = impl_->sync_metadata(datasync ? &assoc : nullptr);  // plugs, waits for the bdev
  as.wait_writeback_idle();
  CARDFS_RETURN_IF_ERROR(space_error(as));
  CARDFS_RETURN_IF_ERROR(meta);
  return impl_->flush_device();
}

Status PageCache::sync_all() {
  auto spaces = impl_->all_spaces();  // the block device's last: data before metadata
  for (auto& as : spaces)
    if (!impl_->held(*as)) impl_->write_back_as(*as, 0, ~0ull, WbMode::kSync, SIZE_MAX);
  impl_->dev.plug_flush();
  Status first = Status::ok();
  for (auto& as : spaces) {
    as->wait_writeback_idle();
    if (first.is_ok()) first = space_error(*as);
  }
  Status flushed = impl_->flush_device();
  return first.is_ok() ? flushed : first;
}

}  // namespace cardfs::cache
