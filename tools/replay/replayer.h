// Replayer: runs a Trace against a dataless card of one profile and
// measures what the card did.
//
// The card is the emulator's own model (sdcard::Card on the none store:
// the same FTL, merges, GC, write buffer, wear and device time as a
// mounted card, without its data). Each event becomes the card commands
// blockdev's SdcardDriver would send (a preflush write: a flush, then the
// write; FUA passed on). Time follows the trace: a command arrives at its
// event's time, waits while the card is still busy with earlier ones (its
// queueing delay) and then takes its device time (its service time); idle
// gaps stay idle. A trace without times (fio v2) runs back to back. At the
// end the card is closed, programming what its write buffer still holds
// (what an unmount and power-off would make it do).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "sdcard/card.h"
#include "sdcard/profiles.h"
#include "tools/replay/trace.h"

namespace cardfs::replay {

struct ReplayOptions {
  std::optional<uint64_t> size_bytes;  // default: the trace's sectors, rounded up to AUs
  std::string image;                   // start from this card image's state (read only)
  Stage from = Stage::kDispatch;
  // Called now and then with (commands done, commands in all).
  std::function<void(uint64_t, uint64_t)> progress;
};

// Per-command times of one kind of command, in ns.
struct LatencyStats {
  uint64_t count = 0;
  Nanos p50{0}, p99{0}, max{0};              // arrival to completion
  Nanos service_p50{0}, service_p99{0}, service_max{0};
  Nanos queue_mean{0}, queue_max{0};         // waiting for the card
};

struct WearSummary {
  uint32_t aus = 0;
  uint32_t min = 0, max = 0;
  double mean = 0;
  uint32_t aus_erased = 0;                  // AUs erased at least once
  std::vector<uint32_t> erase_counts;       // per physical AU
};

struct ProfileReport {
  std::string profile;
  uint64_t card_bytes = 0;
  uint32_t page_bytes = 0;
  uint64_t events = 0;       // trace events replayed
  sdcard::CardCounters counters;
  Nanos busy{0};             // device time, all commands and the final close
  Nanos span{0};             // the trace's own span (first to last event)
  Nanos finish{0};           // when the card would have finished the last command
  LatencyStats reads, writes, flushes, discards;
  WearSummary wear;
  double utilisation() const { return span.count() > 0 ? double(busy.count()) / double(span.count()) : 0.0; }
};

// The events replay feeds to the card: those of `from`'s stage, or, when a
// trace has none at the dispatch stage (fio's logs), its queued ones.
std::vector<TraceEvent> commands_of(const Trace& trace, Stage from, Stage* used = nullptr);

Result<ProfileReport> replay(const Trace& trace, const sdcard::Profile& profile, const ReplayOptions& options);

// The card replay() runs on: a dataless card of `profile`, from
// options.image's state or fresh, sized by options.size_bytes or the trace.
Result<std::unique_ptr<sdcard::Card>> dataless_card(const Trace& trace, const sdcard::Profile& profile,
                                                    const ReplayOptions& options, Clock& clock);

}  // namespace cardfs::replay
