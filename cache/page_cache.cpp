// PageCache: construction, address spaces, and the page primitives shared
// by the read, write, write-back and buffer paths.
#include "cache/page_cache.h"

#include <cstdlib>
#include <cstring>

#include "base/log.h"
#include "cache/cache_impl.h"
#include "cache/io.h"

namespace cardfs::cache {

PageCache::Impl::Impl(blockdev::BlockDevice& d, Clock& c, uint32_t bs, const Tunables& t)
    : dev(d),
      clock(c),
      block_size(bs),
      sectors_per_block(bs / 512),
      blocks_per_page(kPageSize / bs),
      bdev(std::make_shared<AddressSpace>(~0ull, GetBlock{}, true)) {
  // A page keeps a mapping per block (Page::map_sector): at most 4.
  if (bs < kPageSize / kMaxBlocksPerPage || bs > kPageSize || kPageSize % bs != 0) {
    logger("cache")->critical("block size {} is not 1024, 2048 or 4096", bs);
    std::abort();
  }
  apply_tunables(t);
}

std::vector<std::shared_ptr<AddressSpace>> PageCache::Impl::all_spaces() {
  std::lock_guard lock(reg_mu);
  std::vector<std::shared_ptr<AddressSpace>> out;
  out.reserve(registry.size() + 1);
  for (auto& [ino, as] : registry) out.push_back(as);
  out.push_back(bdev);
  return out;
}

PageRef PageCache::Impl::find_or_create(AddressSpace& as, uint64_t index, bool* created) {
  *created = false;
  if (auto p = as.find(index)) return p;
  reclaim_if_needed();
  Page* fresh = pool.make(&as, index);
  fresh->locks = kAllSectors;  // the creator fills it before anyone reads it
  bool inserted = false;
  PageRef ref = as.insert(fresh, lru, &inserted);
  if (!inserted) {
    pool.destroy(fresh);
    return ref;
  }
  Counters::add(counters.nr_pages, 1);
  *created = true;
  return ref;
}

void PageCache::Impl::drop_page(Page* p) {
  if (!p->owner->remove(p)) return;
  lru.remove(p);
  bool was_dirty = false;
  {
    std::lock_guard lock(p->mu);
    if (p->dirty) {
      p->dirty = 0;
      was_dirty = true;
      p->owner->remove_dirty(p->index);
    }
  }
  if (was_dirty) Counters::add(counters.nr_dirty, -1);
  Counters::add(counters.nr_pages, -1);
  unpin(p);  // the index's reference
}

void PageCache::Impl::mark_dirty(Page* p, uint8_t mask) {
  AddressSpace& as = *p->owner;
  if (held(as)) note_transaction_page(p);
  bool inode_dirtied = false;
  {
    std::lock_guard lock(p->mu);
    if (p->dirty == 0) {
      Counters::add(counters.nr_dirty, 1);
      inode_dirtied = as.add_dirty(p->index, clock.now());
    }
    p->dirty |= mask;
  }
  if (inode_dirtied) note_dirty_inode(as);
}

Result<BlockMapping> PageCache::Impl::map_block(AddressSpace& as, Page* p, uint32_t slot,
                                                bool create) {
  if (as.is_bdev()) {
    return BlockMapping::at(p->index * kSectorsPerPage + slot * sectors_per_block);
  }
  {
    std::lock_guard lock(p->mu);
    if (p->mapped & (1u << slot)) return BlockMapping::at(p->map_sector[slot]);
  }
  CARDFS_ASSIGN_OR_RETURN(BlockMapping m,
                          get_block(as, p->index * blocks_per_page + slot, create));
  if (!m.mapped) return m;
  std::lock_guard lock(p->mu);
  p->mapped |= uint8_t(1u << slot);
  p->map_sector[slot] = m.sector;
  return m;
}

Result<BlockMapping> PageCache::Impl::get_block(AddressSpace& as, uint64_t file_block,
                                                bool create) {
  GetBlock gb = as.get_block();
  if (!gb) return Status::error(EIO, "address space has no get_block");
  Result<BlockMapping> r = gb(file_block, create);
  if (!r.is_ok()) return r;
  // What the mapping dirtied is this file's metadata: its fdatasync writes it.
  for (uint64_t block : r->metadata) as.add_assoc(block / blocks_per_page);
  if (r->mapped && r->sector + sectors_per_block > dev.sector_count()) {
    return Status::error(EIO, "get_block mapped file block " + std::to_string(file_block) +
                                  " of " + as.describe() +
                                  " past the end of the device");
  }
  return r;
}

void PageCache::Impl::clear_dirty(Page* p, uint8_t mask) {
  std::lock_guard lock(p->mu);
  if (!(p->dirty & mask)) return;
  p->dirty &= uint8_t(~mask);
  if (p->dirty == 0) {
    Counters::add(counters.nr_dirty, -1);
    p->owner->remove_dirty(p->index);
  }
}

// Appends one sector to ext, growing the last extent when it continues it
// both on disk and in memory.
static void append_sector(std::vector<Extent>& ext, uint64_t disk, std::byte* data,
                          IoUnit* unit) {
  if (!ext.empty()) {
    Extent& e = ext.back();
    if (e.unit == unit && e.sector + e.len / 512 == disk && e.data + e.len == data &&
        e.len < kPageSize) {
      e.len += 512;
      return;
    }
  }
  ext.push_back({disk, data, 512, unit});
}

Status PageCache::Impl::read_sectors(AddressSpace& as, Page* p, uint8_t mask, uint32_t flags) {
  std::vector<Extent> ext;
  auto* unit = new IoUnit;
  IoWaiter waiter;
  for (uint32_t slot = 0; slot < blocks_per_page; ++slot) {
    uint8_t want = mask & slot_mask(slot);
    if (!want) continue;
    auto m = map_block(as, p, slot, false);
    if (!m.is_ok()) {
      delete unit;
      return m.status();
    }
    for (uint32_t s = slot * sectors_per_block; s < (slot + 1) * sectors_per_block; ++s) {
      if (!(want & (1u << s))) continue;
      if (!m->mapped) {
        std::memset(p->data + s * 512, 0, 512);
      } else {
        append_sector(ext, m->sector + (s - slot * sectors_per_block), p->data + s * 512, unit);
      }
    }
  }
  int err = 0;
  if (ext.empty()) {
    delete unit;
  } else {
    waiter.add();
    unit->done = [&waiter](int e) { waiter.finish(e); };
    submit_extents(dev, blockdev::BioOp::kRead, flags, std::move(ext), true, kPageSize);
    err = waiter.wait(dev);
    if (err == 0) Counters::inc(counters.pgpgin);
  }
  std::lock_guard lock(p->mu);
  if (err != 0) {
    p->read_error = true;
    return Status::error(err, "reading page " + std::to_string(p->index) + " of " + as.describe());
  }
  p->uptodate |= mask;
  return Status::ok();
}

// ---- PageCache public surface

PageCache::PageCache(blockdev::BlockDevice& dev, Clock& clock, uint32_t block_size, Tunables t)
    : impl_(std::make_unique<Impl>(dev, clock, block_size, t)) {}

void PageCache::Impl::async_read_started() {
  std::lock_guard lock(io_mu);
  ++async_reads;
}

void PageCache::Impl::async_read_done() {
  std::lock_guard lock(io_mu);
  if (--async_reads == 0) io_cv.notify_all();
}

void PageCache::Impl::wait_async_reads() {
  dev.plug_flush();
  std::unique_lock lock(io_mu);
  io_cv.wait(lock, [&] { return async_reads == 0; });
}

PageCache::~PageCache() {
  stop_flusher();
  impl_->wait_async_reads();
  for (auto& as : impl_->all_spaces()) destroy_address_space(*as);
}

std::shared_ptr<AddressSpace> PageCache::create_address_space(uint64_t ino, GetBlock get_block) {
  std::lock_guard lock(impl_->reg_mu);
  auto& slot = impl_->registry[ino];
  if (slot) {
    slot->set_get_block(std::move(get_block));  // the same inode, read in again
  } else {
    slot = std::make_shared<AddressSpace>(ino, std::move(get_block), false);
  }
  return slot;
}

bool PageCache::forget_clean_address_space(AddressSpace& as) {
  if (as.is_bdev() || as.has_dirty() || !as.writeback_idle()) return false;
  destroy_address_space(as);
  return true;
}

void PageCache::destroy_address_space(AddressSpace& as) {
  impl_->dev.plug_flush();
  as.wait_writeback_idle();
  for (auto& p : as.pages_in(0, ~0ull)) {
    impl_->lock_page(p.get(), kAllSectors, true);
    impl_->drop_page(p.get());
    p->unlock(kAllSectors);
  }
  as.take_assoc();
  if (as.is_bdev()) return;
  std::lock_guard lock(impl_->reg_mu);
  auto it = impl_->registry.find(as.ino());
  if (it != impl_->registry.end() && it->second.get() == &as) impl_->registry.erase(it);
}

}  // namespace cardfs::cache
