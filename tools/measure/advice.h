// Advice: the rules of thumb a workload breaks on a card, each with its
// measured value and the share of the card's device time it goes with,
// in plain words (as WiscSee reports rule violations for SSDs):
// - distinct AUs written per second against the AUs the card keeps open
//   (a block-FTL card merges when writes move to another AU);
// - writes smaller than the card's flash page (each programs a whole page)
//   or than its RU (the write buffer a speed class is measured in);
// - writes of a page or more that start or end inside a page (the pages
//   at their ends are programmed partly, and again by the next write);
// - the flush (fsync) rate, per second of the operation the run stands
//   for: each flush programs what the buffer holds, partly filled pages too.
#pragma once

#include <cstdint>
#include <vector>

#include "sdcard/profiles.h"
#include "tools/measure/costs.h"
#include "tools/replay/trace.h"

namespace cardfs::measure {

// The shapes of the run's commands and the device time each took.
struct WriteShape {
  uint64_t writes = 0, small = 0, sub_ru = 0, unaligned = 0, flushes = 0, fua = 0;
  int64_t small_ns = 0, unaligned_ns = 0, flush_ns = 0, write_ns = 0;
  void add(const replay::TraceEvent& e, int64_t service_ns, uint32_t page_bytes, uint32_t ru_bytes);
};

// represents_s: the operation the run stands for (the fsync rate's time base).
std::vector<Advice> advise(const ProfileCost& cost, const WriteShape& shape, double represents_s);

}  // namespace cardfs::measure
