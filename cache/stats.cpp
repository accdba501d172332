// Tunables and the /proc/meminfo- and /proc/vmstat-style counters.
#include <algorithm>
#include <sstream>

#include "cache/cache_impl.h"

namespace cardfs::cache {

// A page's entry in an address space's index: a hash node (key, value
// and next pointer, 24 bytes, 32 as malloc hands it out) and up to 4
// buckets of 8 bytes (the index rehashes down at a quarter full).
static constexpr uint64_t kIndexBytesPerPage = 32 + 4 * 8;
// A dirty page's number in its address space's dirty set (a std::set node,
// 40 bytes, 48 as malloc hands it out), and a metadata page's in the
// running transaction's list while a journal holds metadata (8 bytes in a
// vector, 16 with the vector's growth).
static constexpr uint64_t kDirtyBytesPerPage = 48 + 16;

uint64_t PageCache::bytes_per_page() {
  return kPageSize + sizeof(Page) + kIndexBytesPerPage + kDirtyBytesPerPage;
}

void PageCache::Impl::apply_tunables(const Tunables& t) {
  std::lock_guard lock(tun_mu);
  tun = t;
  tun.dirty_ratio = std::clamp<uint32_t>(t.dirty_ratio, 1, 100);
  tun.dirty_background_ratio = std::clamp<uint32_t>(t.dirty_background_ratio, 1, 100);
  uint64_t pages = std::max<uint64_t>(tun.cache_size / bytes_per_page(), 16);
  limit_pages = pages;
  cache_size_bytes = tun.cache_size;
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
  // A smaller cache takes effect now, not at the next page created, and
  // the frames it no longer needs go back to the system.
  impl_->reclaim_if_needed();
  impl_->pool.trim(impl_->limit_pages.load());
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
  // CacheSize is the budget (cache_size); CacheLimit the data it lets in;
  // CacheMemory what the cached pages cost against it, bookkeeping
  // included; PagePool the frames and headers mapped (up to a chunk more),
  // PagePoolResident the frames of those not given back (PagePool::trim).
  line("CacheSize", impl_->cache_size_bytes.load() / 1024);
  line("CacheLimit", impl_->limit_pages.load() * 4);
  line("Cached", kb(c.nr_pages.load()));
  line("CacheMemory", uint64_t(std::max<int64_t>(c.nr_pages.load(), 0)) * bytes_per_page() / 1024);
  line("PagePool", impl_->pool.mapped_bytes() / 1024);
  line("PagePoolResident", impl_->pool.resident_frames() * 4);
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
