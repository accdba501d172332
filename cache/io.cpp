#include "cache/io.h"

#include <algorithm>
#include <memory>

namespace cardfs::cache {

using blockdev::Bio;
using blockdev::BioOp;

static void unit_bio_done(IoUnit* u, int status) {
  if (status != 0) {
    int expected = 0;
    u->err.compare_exchange_strong(expected, -status);
  }
  if (u->pending.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    u->done(u->err.load());
    delete u;
  }
}

void submit_extents(blockdev::BlockDevice& dev, BioOp op, uint32_t flags,
                    std::vector<Extent> ext, bool merge, uint64_t max_bytes) {
  std::stable_sort(ext.begin(), ext.end(),
                   [](const Extent& a, const Extent& b) { return a.sector < b.sector; });
  std::vector<blockdev::BioPtr> bios;
  std::vector<std::vector<IoUnit*>> units;
  for (const Extent& e : ext) {
    Bio* last = bios.empty() ? nullptr : bios.back().get();
    bool join = merge && last && last->sector + last->sectors() == e.sector &&
                last->bytes() + e.len <= max_bytes;
    if (!join) {
      auto bio = std::make_unique<Bio>();
      bio->op = op;
      bio->sector = e.sector;
      bio->flags = flags;
      blockdev::set_submitter_from_current_thread(*bio);
      bios.push_back(std::move(bio));
      units.emplace_back();
    }
    bios.back()->segments.push_back({e.data, e.len});
    auto& us = units.back();
    if (std::find(us.begin(), us.end(), e.unit) == us.end()) us.push_back(e.unit);
  }
  // Every count is set before the first submit: bios may complete inside it.
  for (auto& us : units)
    for (IoUnit* u : us) u->pending.fetch_add(1, std::memory_order_relaxed);
  blockdev::Plug plug(dev);
  for (size_t i = 0; i < bios.size(); ++i) {
    bios[i]->on_complete = [us = std::move(units[i])](int status) {
      for (IoUnit* u : us) unit_bio_done(u, status);
    };
    dev.submit(std::move(bios[i]));
  }
}

void IoWaiter::add(int n) {
  std::lock_guard lock(mu_);
  remaining_ += n;
}

void IoWaiter::finish(int err) {
  std::lock_guard lock(mu_);
  if (err != 0 && err_ == 0) err_ = err;
  if (--remaining_ == 0) cv_.notify_all();
}

int IoWaiter::wait(blockdev::BlockDevice& dev) {
  dev.plug_flush();
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return remaining_ == 0; });
  return err_;
}

}  // namespace cardfs::cache
