// Counters: what the cache has done, as /proc/meminfo and /proc/vmstat
// report it (internal). Gauges are relaxed atomics; event counts are
// striped over cache lines by thread (like Linux's per-CPU vm events) so
// that two threads hitting the cache do not share a counter line. Readers
// get a snapshot that is exact per field, not across fields.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

namespace cardfs::cache {

class EventCounter {
 public:
  void add(uint64_t n) { slots_[slot()].v.fetch_add(n, std::memory_order_relaxed); }
  uint64_t load() const {
    uint64_t sum = 0;
    for (const auto& s : slots_) sum += s.v.load(std::memory_order_relaxed);
    return sum;
  }

 private:
  static constexpr size_t kSlots = 8;
  static size_t slot() {
    static std::atomic<size_t> next{};
    thread_local size_t mine = next.fetch_add(1, std::memory_order_relaxed) % kSlots;
    return mine;
  }
  struct alignas(64) Slot {
    std::atomic<uint64_t> v{0};
  };
  Slot slots_[kSlots];
};

struct Counters {
  // Gauges, in pages.
  std::atomic<int64_t> nr_pages{};
  std::atomic<int64_t> nr_dirty{};
  std::atomic<int64_t> nr_writeback{};
  // Events.
  EventCounter pgpgin{};          // pages read in from the device
  EventCounter pgpgout{};         // pages written out
  EventCounter sectors_out{};     // 512-byte sectors written by write-back
  EventCounter hits{};            // page found uptodate by read()
  EventCounter misses{};          // page had to be read
  EventCounter ra_pages{};        // pages read by readahead
  EventCounter ra_hits{};         // readahead pages later read
  EventCounter evictions{};       // pgsteal
  EventCounter over_limit{};      // page created with nothing reclaimable
  EventCounter throttle_events{}; // writes that had to pause
  EventCounter throttle_ns{};     // time paused
  EventCounter flusher_wakeups{};
  EventCounter bg_writeback_runs{};
  EventCounter direct_read_bytes{};
  EventCounter direct_write_bytes{};
  EventCounter writeback_errors{};

  static void inc(EventCounter& c, uint64_t n = 1) { c.add(n); }
  static void add(std::atomic<int64_t>& c, int64_t n) {
    c.fetch_add(n, std::memory_order_relaxed);
  }
};

}  // namespace cardfs::cache
