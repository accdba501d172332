// counters_text: a card's counters as named values, "card.NAME VALUE" per
// line — the names of .cardfs/stat, and what `cardfs card export` serves in
// DIR/stat and prints when it exits. One list, so every reader of the
// counters (experiments, benchmarks, plots) sees the same names.
//
// Contract: reads Card::counters() and Card::device_time() only (never
// waits for a command sleeping in realtime mode). Integral values print
// without a fraction; write_amplification with three decimals.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "sdcard/card.h"

namespace cardfs::sdcard {

// ("card.commands", 12), ("card.device_time_ns", 3.4e9) ... in a fixed order.
std::vector<std::pair<std::string, double>> counter_fields(const Card& card);

// counter_fields() as text, one "name value" line each.
std::string counters_text(const Card& card);

}  // namespace cardfs::sdcard
