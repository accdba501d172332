// Tunables and the /proc/meminfo- and /proc/vmstat-style counters.
#include <algorithm>
#include <sstream>

#include "cache/cache_impl.h"

namespace cardfs::cache {

void PageCache::Impl::apply_tunables(const Tunables& t) {
  std::lock_guard lock(tun_mu);
  tun = t;
  tun.dirty_ratio = std::clamp<uint32_t>(t.dirty_ratio, 1, 100);
  tun.dirty_background_ratio = std::clamp<uint32_t>(t.dirty_background_ratio, 1, 100);
  uint64_t pages = std::max<uint64_t>(tun.cache_size / kPageSize, 16);
  limit_pages = pages;
  dirty_limit_pages = std::max<uint64_t>(pages * tun.dirty_ratio / 100, 1);
  bg_limit_pages = std::max<uint64_t>(pages * tun.dirty_background_ratio / 100, 1);
  multipage = tun.multipage_bios;
}

Tunables PageCache::tunables() const {
  std::lock_guard lock(impl_->tun_mu);
  return impl_->tun;
}

void PageCache::set_tunables(const Tunables& t) {
  impl_->apply_tunables(t);
  // A smaller cache takes effect now, not at the next page created.
  impl_->reclaim_if_needed();
  if (impl_->fl_running.load()) impl_->kick_flusher();
}

static uint64_t kb(int64_t pages) { return uint64_t(std::max<int64_t>(pages, 0)) * 4; }

std::string PageCache::meminfo() const {
  const Counters& c = impl_->counters;
  size_t active, inactive;
  {
    std::lock_guard lock(impl_->lru.mu);
    active = impl_->lru.nr_active;
    inactive = impl_->lru.nr_inactive;
  }
  std::ostringstream out;
  auto line = [&](const char* name, uint64_t v) {
    std::string label = std::string(name) + ':';
    std::string num = std::to_string(v);
    out << label << std::string(std::max<size_t>(24 - label.size() - num.size(), 1), ' ') << num
        << " kB\n";
  };
  line("CacheLimit", impl_->limit_pages.load() * 4);
  line("Cached", kb(c.nr_pages.load()));
  line("Active(file)", kb(int64_t(active)));
  line("Inactive(file)", kb(int64_t(inactive)));
  line("Dirty", kb(c.nr_dirty.load()));
  line("Writeback", kb(c.nr_writeback.load()));
  line("DirtyLimit", impl_->dirty_limit_pages.load() * 4);
  line("DirtyBackground", impl_->bg_limit_pages.load() * 4);
  return out.str();
}

std::string PageCache::vmstat() const {
  const Counters& c = impl_->counters;
  std::ostringstream out;
  auto line = [&](const char* name, uint64_t v) { out << name << ' ' << v << '\n'; };
  line("nr_file_pages", uint64_t(std::max<int64_t>(c.nr_pages.load(), 0)));
  line("nr_dirty", uint64_t(std::max<int64_t>(c.nr_dirty.load(), 0)));
  line("nr_writeback", uint64_t(std::max<int64_t>(c.nr_writeback.load(), 0)));
  line("pgpgin", c.pgpgin.load());
  line("pgpgout", c.pgpgout.load());
  line("pgpgout_sectors", c.sectors_out.load());
  line("cache_hits", c.hits.load());
  line("cache_misses", c.misses.load());
  line("readahead_pages", c.ra_pages.load());
  line("readahead_hits", c.ra_hits.load());
  line("pgsteal", c.evictions.load());
  line("cache_over_limit", c.over_limit.load());
  line("throttle_events", c.throttle_events.load());
  line("throttle_ms", c.throttle_ns.load() / 1000000);
  line("flusher_wakeups", c.flusher_wakeups.load());
  line("background_writeback", c.bg_writeback_runs.load());
  line("writeback_errors", c.writeback_errors.load());
  line("direct_read_bytes", c.direct_read_bytes.load());
  line("direct_write_bytes", c.direct_write_bytes.load());
  return out.str();
}

}  // namespace cardfs::cache
