// Metadata blocks through the block device's address space: bread, bget,
// bforget and BufferRef (Linux's buffer heads on the bdev's page cache).
#include <cstring>

#include "cache/cache_impl.h"

namespace cardfs::cache {

struct BufferRef::Impl {
  PageCache::Impl* cache;
  PageRef page;
  uint32_t offset;  // of the block in the page
  uint32_t len;     // block size
  uint64_t block;
  uint8_t mask;     // the block's sectors
  bool locked = false;
};

BufferRef::BufferRef(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BufferRef::BufferRef(BufferRef&&) noexcept = default;
BufferRef& BufferRef::operator=(BufferRef&& o) noexcept {
  if (this != &o) {
    if (impl_ && impl_->locked) unlock();
    impl_ = std::move(o.impl_);
  }
  return *this;
}
BufferRef::~BufferRef() {
  if (impl_ && impl_->locked) unlock();
}

std::span<std::byte> BufferRef::data() const {
  return {impl_->page->data + impl_->offset, impl_->len};
}

uint64_t BufferRef::block() const { return impl_->block; }

void BufferRef::lock() {
  impl_->cache->lock_page(impl_->page.get(), impl_->mask, true);  // waits out write-back: stable bytes
  impl_->locked = true;
}

void BufferRef::lock_to_read() {
  impl_->cache->lock_page(impl_->page.get(), impl_->mask);  // not waiting for write-back
  impl_->locked = true;
}

void BufferRef::unlock() {
  impl_->locked = false;
  impl_->page->unlock(impl_->mask);
}

bool BufferRef::verified() const {
  std::lock_guard lock(impl_->page->mu);
  return (impl_->page->verified & impl_->mask) == impl_->mask;
}

void BufferRef::set_verified() {
  std::lock_guard lock(impl_->page->mu);
  impl_->page->verified |= impl_->mask;
}

void BufferRef::mark_dirty() { impl_->cache->mark_dirty(impl_->page.get(), impl_->mask); }

void BufferRef::mark_dirty(size_t offset, size_t len) {
  if (len == 0 || offset >= impl_->len) return;
  len = std::min(len, impl_->len - offset);
  uint32_t from = impl_->offset + uint32_t(offset);
  impl_->cache->mark_dirty(impl_->page.get(), sector_mask(from, from + uint32_t(len)));
}

// The pinned bdev page holding `block`, and where in it.
static Result<std::unique_ptr<BufferRef::Impl>> buffer_page(PageCache::Impl& c, uint64_t block) {
  uint64_t sectors = c.dev.sector_count();
  if (block >= sectors / c.sectors_per_block) {
    return Status::error(EIO, "metadata block " + std::to_string(block) +
                                  " is past the end of the device");
  }
  uint64_t byte = block * c.block_size;
  auto impl = std::make_unique<BufferRef::Impl>();
  impl->cache = &c;
  impl->offset = uint32_t(byte % kPageSize);
  impl->len = c.block_size;
  impl->block = block;
  impl->mask = sector_mask(impl->offset, impl->offset + c.block_size);
  bool created;
  impl->page = c.find_or_create(*c.bdev, byte / kPageSize, &created);
  if (created) impl->page->unlock(kAllSectors);  // each buffer fills on its own
  return impl;
}

// The buffer for `block` with every sector uptodate: those not cached are
// read from the device, or with zero_missing start as zeros unread.
static Result<std::unique_ptr<BufferRef::Impl>> fill_buffer(PageCache::Impl& c, uint64_t block,
                                                            bool zero_missing) {
  CARDFS_ASSIGN_OR_RETURN(auto impl, buffer_page(c, block));
  Page* p = impl->page.get();
  if (p->wait_uptodate(impl->mask)) {
    Counters::inc(c.counters.hits);
  } else {
    if (!zero_missing) Counters::inc(c.counters.misses);
    c.lock_page(p, impl->mask);  // a concurrent filler may have got there first
    uint8_t missing;
    {
      std::lock_guard lock(p->mu);
      missing = uint8_t(impl->mask & ~p->uptodate);
      if (zero_missing) {
        zero_sectors(p, missing);
        p->uptodate |= missing;
      }
    }
    Status st = Status::ok();
    if (missing && !zero_missing)
      st = c.read_sectors(*c.bdev, p, missing, blockdev::kBioMeta | blockdev::kBioSync);
    p->unlock(impl->mask);
    CARDFS_RETURN_IF_ERROR(st.with_context("bread"));
  }
  c.mark_accessed(p);
  return impl;
}

Result<BufferRef> PageCache::bread(uint64_t block) {
  CARDFS_ASSIGN_OR_RETURN(auto impl, fill_buffer(*impl_, block, false));
  return BufferRef(std::move(impl));
}

Result<BufferRef> PageCache::bget_cached_or_zeroed(uint64_t block) {
  CARDFS_ASSIGN_OR_RETURN(auto impl, fill_buffer(*impl_, block, true));
  return BufferRef(std::move(impl));
}

Result<BufferRef> PageCache::bget_zeroed(uint64_t block) {
  CARDFS_ASSIGN_OR_RETURN(auto impl, buffer_page(*impl_, block));
  Page* p = impl->page.get();
  impl_->lock_page(p, impl->mask, true);
  {
    std::lock_guard lock(p->mu);
    std::memset(p->data + impl->offset, 0, impl->len);
    p->uptodate |= impl->mask;
    p->verified &= uint8_t(~impl->mask);
  }
  p->unlock(impl->mask);
  impl_->mark_accessed(p);
  return BufferRef(std::move(impl));
}

void PageCache::bforget(uint64_t block) {
  uint64_t byte = block * impl_->block_size;
  PageRef p = impl_->bdev->find(byte / kPageSize);
  if (!p) return;
  uint32_t offset = uint32_t(byte % kPageSize);
  uint8_t mask = sector_mask(offset, offset + impl_->block_size);
  impl_->lock_page(p.get(), mask, true);
  impl_->clear_dirty(p.get(), mask);
  bool empty;
  {
    std::lock_guard lock(p->mu);
    p->uptodate &= uint8_t(~mask);
    p->verified &= uint8_t(~mask);
    empty = p->uptodate == 0 && p->dirty == 0 && p->locks == mask;
  }
  if (empty) impl_->drop_page(p.get());
  p->unlock(mask);
}

}  // namespace cardfs::cache
