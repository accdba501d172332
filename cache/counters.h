// Counters: what the cache has done, as /proc/meminfo and /proc/vmstat
// report it (internal). Every field is a relaxed atomic: readers get a
// snapshot that is exact per field, not across fields.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace cardfs::cache {

struct Counters {
  // Gauges, in pages.
  std::atomic<int64_t> nr_pages{0};
  std::atomic<int64_t> nr_dirty{0};
  std::atomic<int64_t> nr_writeback{0};
  // Events.
  std::atomic<uint64_t> pgpgin{0};          // pages read in from the device
  std::atomic<uint64_t> pgpgout{0};         // pages written out
  std::atomic<uint64_t> sectors_out{0};     // 512-byte sectors written by write-back
  std::atomic<uint64_t> hits{0};            // page found uptodate by read()
  std::atomic<uint64_t> misses{0};          // page had to be read
  std::atomic<uint64_t> ra_pages{0};        // pages read by readahead
  std::atomic<uint64_t> ra_hits{0};         // readahead pages later read
  std::atomic<uint64_t> evictions{0};       // pgsteal
  std::atomic<uint64_t> over_limit{0};      // page created with nothing reclaimable
  std::atomic<uint64_t> throttle_events{0}; // writes that had to pause
  std::atomic<uint64_t> throttle_ns{0};     // time paused
  std::atomic<uint64_t> flusher_wakeups{0};
  std::atomic<uint64_t> bg_writeback_runs{0};
  std::atomic<uint64_t> direct_read_bytes{0};
  std::atomic<uint64_t> direct_write_bytes{0};
  std::atomic<uint64_t> writeback_errors{0};

  static void inc(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.fetch_add(n, std::memory_order_relaxed);
  }
  static void add(std::atomic<int64_t>& c, int64_t n) {
    c.fetch_add(n, std::memory_order_relaxed);
  }
};

}  // namespace cardfs::cache
