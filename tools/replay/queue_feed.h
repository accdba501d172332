// --from Q: the trace's queued bios sent through cardfs's own request
// queue (blockdev::Queue, default limits and mq-deadline, as a mount has
// them) to the card, to see what cardfs's splitting and merging would
// have made of them (internal to replay/).
//
// Each bio is submitted at its trace time, without a plug; the queue
// dispatches one request at a time (an SD card's depth) when the card is
// free, so bios that arrive while the card is busy wait in the elevator
// and may merge there. Latency is per bio: from its Q time to the
// completion of the request that carried it; its queueing delay is the
// time until that request reached the card.
#pragma once

#include <vector>

#include "tools/replay/replayer.h"
#include "tools/replay/timeline.h"
#include "tools/replay/trace.h"

namespace cardfs::replay {

Status run_through_queue(const Trace& trace, const std::vector<TraceEvent>& bios, Timeline& timeline,
                         uint64_t sector_count, const ReplayOptions& options);

}  // namespace cardfs::replay
