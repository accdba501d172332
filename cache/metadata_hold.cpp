// A journal's hold on metadata: the blocks dirtied since the last commit
// noted and copied for the log, and written home only by a checkpoint.
#include <algorithm>
#include <cstring>

#include "cache/cache_impl.h"
#include "cache/page_cache.h"

namespace cardfs::cache {

// Every change of a metadata block notes its page: a tag per page, not a
// search of the set, keeps that cheap on the create/unlink path.
void PageCache::Impl::note_transaction_page(Page* p) {
  std::lock_guard lock(txn_mu);
  if (p->txn_noted == txn_epoch) return;
  p->txn_noted = txn_epoch;
  txn_pages.push_back(p->index);
}

void PageCache::set_metadata_hold(bool hold) {
  impl_->hold_metadata = hold;
  if (hold) return;
  std::lock_guard lock(impl_->txn_mu);
  impl_->txn_pages.clear();
  ++impl_->txn_epoch;
}

size_t PageCache::transaction_pages() {
  std::lock_guard lock(impl_->txn_mu);
  return impl_->txn_pages.size();
}

size_t PageCache::dirty_metadata_pages() { return impl_->bdev->dirty_count(); }

// Every dirty block of a noted page is copied, not only the one that was
// dirtied (with blocks smaller than a page): a block still dirty from a
// committed transaction is then logged again, which replays the same bytes.
std::vector<PageCache::BlockCopy> PageCache::take_transaction_blocks() {
  Impl& c = *impl_;
  std::vector<uint64_t> pages;
  {
    std::lock_guard lock(c.txn_mu);
    pages.swap(c.txn_pages);
    ++c.txn_epoch;
  }
  // In block order, as the log has always been written.
  std::sort(pages.begin(), pages.end());
  pages.erase(std::unique(pages.begin(), pages.end()), pages.end());
  std::vector<BlockCopy> out;
  for (uint64_t index : pages) {
    PageRef p = c.bdev->find(index);
    if (!p) continue;  // dropped (bforget of a freed block)
    std::lock_guard lock(p->mu);
    for (uint32_t slot = 0; slot < c.blocks_per_page; ++slot) {
      if (!(p->dirty & c.slot_mask(slot))) continue;
      const std::byte* at = p->data + size_t(slot) * c.block_size;
      out.push_back({index * c.blocks_per_page + slot, std::vector<std::byte>(at, at + c.block_size)});
    }
  }
  return out;
}

Status PageCache::write_back_metadata() {
  Impl& c = *impl_;
  c.write_back_as(*c.bdev, 0, ~0ull, WbMode::kSync, SIZE_MAX);
  c.dev.plug_flush();
  c.bdev->wait_writeback_idle();
  if (c.bdev->error()) return Status::error(c.bdev->error(), "checkpoint: metadata write-back failed");
  return Status::ok();
}

Status PageCache::write_back_files(std::span<const std::shared_ptr<AddressSpace>> files) {
  Impl& c = *impl_;
  for (const auto& as : files) c.write_back_as(*as, 0, ~0ull, WbMode::kSync, SIZE_MAX);
  c.dev.plug_flush();
  Status first = Status::ok();
  for (const auto& as : files) {
    as->wait_writeback_idle();
    if (first.is_ok() && as->error())
      first = Status::error(as->error(), "ordered data: write-back of " + as->describe() + " failed");
  }
  return first;
}

Status PageCache::flush_device() { return impl_->flush_device(); }

blockdev::BlockDevice& PageCache::device() { return impl_->dev; }

}  // namespace cardfs::cache
