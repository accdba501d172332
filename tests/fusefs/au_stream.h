// AU-aware write-back measured end to end: a file streamed through the
// filesystem, cache, queue and card on a virtual clock (stream_file), with
// what the card saw. Used by au_test.cpp (assertions) and au_bench.cpp
// (the 128 MiB report on the seed cards, scripts/bench/au_bench.sh).
#pragma once

#include <cstdint>
#include <string>

#include "cache/page_cache.h"
#include "sdcard/card.h"

namespace cardfs::fusefs::testing {

struct StreamResult {
  sdcard::CardCounters card;
  double wa = 0;
  uint64_t au_entries = 0;    // times the write stream moved into an AU
  uint64_t distinct_aus = 0;  // AUs written at all
  uint64_t file_ino = 0;
};

// Formats a `card_mib` card of `profile`, writes `file_mib` MiB in 128 KiB
// writes (the FUSE default max_write) with the writer doing background
// write-back itself (throttled above dirty_ratio, the virtual clock moving
// with its sleeps) and the daemon's periodic passes every 5 s of virtual
// time (20 ms per MiB on top), then fsyncs. Card counters cover write + fsync.
StreamResult stream_file(const std::string& profile_name, uint64_t card_mib, uint64_t file_mib,
                         cache::Tunables tun = {});

// One line: device time, merges, WA, AU entries.
std::string stream_report(const std::string& profile, const StreamResult& r);

}  // namespace cardfs::fusefs::testing
