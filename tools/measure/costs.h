// What a recorded workload costs one card profile: the trace `cardfs
// measure` recorded, replayed on a dataless card (tools/replay/), with
// the per-second series, phases, latencies, wear and lifetime projection,
// and the figures its advice is made of. docs/measure.md explains every
// number. Pure computation over a Trace; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "sdcard/card.h"
#include "sdcard/profiles.h"
#include "tools/replay/trace.h"

namespace cardfs::measure {

// What was recorded, and what to replay it from.
struct Recording {
  replay::Trace setup;    // the mkfs's card commands (filesystems made through the export), or empty
  replay::Trace run;      // from the mount to the end of the unmount
  uint64_t card_bytes = 0;
  // cardfs: a freshly made image per profile (its mkfs state); empty: a
  // fresh card, with `setup` replayed first.
  std::string base_image;
  // When the command ended, on the run trace's clock (ns): what comes
  // after is the sync and unmount. The command's own time is split in
  // four quarters (phases).
  int64_t command_end_ns = 0;
  double represents_s = 0;  // the real operation the command stands for
};

struct Latency {
  uint64_t count = 0;
  int64_t p50 = 0, p99 = 0, max = 0;  // ns, arrival to completion
};

struct Second {
  uint64_t host_written = 0, host_read = 0, flash_programmed = 0, merges = 0, erases = 0, flushes = 0;
  int64_t device_ns = 0;
  uint32_t aus_written = 0;  // distinct AUs the second's writes touched
};

struct Phase {
  std::string name;
  uint64_t host_written = 0, flash_programmed = 0;
  int64_t device_ns = 0;
  double wa() const { return host_written ? double(flash_programmed) / double(host_written) : 0.0; }
};

// One rule of thumb this workload breaks on this card (WiscSee-style).
struct Advice {
  std::string rule;       // "aus_per_second", "small_writes", "unaligned_writes", "fsync_rate"
  double value = 0;       // the measured figure (per second, or a share of the writes)
  double limit = 0;       // what the card handles well (open AUs, page size ...), 0: none
  double device_share = 0;  // of the device time
  std::string text;       // in plain words
};

struct ProfileCost {
  std::string profile;
  uint32_t page_bytes = 0, au_bytes = 0, ru_bytes = 0, open_aus = 0, aus = 0, rated_pe_cycles = 0;
  std::string ftl, nand;
  uint64_t host_written = 0, host_read = 0, flash_programmed = 0, merges = 0, erases = 0, flushes = 0;
  uint32_t pending_erases = 0;  // AUs in the erase queue at the end (counted as wear)
  int64_t device_ns = 0, span_ns = 0;
  sdcard::TimeByCause time;
  Latency writes, flushes_latency;
  std::vector<int64_t> write_latencies;  // sorted, ns
  std::vector<uint32_t> au_wear;         // per physical AU: erases by this run, pending included
  double spread = 1;                     // mean / max of au_wear (1: perfectly even)
  double erases_per_hour = 0;            // (erases + pending) per represented hour
  double lifetime_hours = 0;             // projected; infinity when nothing wears
  double life_used = 0;                  // share of the rated life this run used
  std::vector<Second> seconds;           // by the second commands arrived
  std::vector<Phase> phases;
  std::vector<Advice> advice;
  double wa() const { return host_written ? double(flash_programmed) / double(host_written) : 0.0; }
  double busy_share() const { return span_ns > 0 ? double(device_ns) / double(span_ns) : 0.0; }
};

Result<ProfileCost> cost_on(const Recording& rec, const sdcard::Profile& profile);

}  // namespace cardfs::measure
