// Timeline: the card's commands on the trace's clock (internal to replay/).
//
// run() sends one device command to the card when it arrives or, if the
// card is still busy, when it is free; the command then takes its device
// time. record() keeps each command's latency (arrival to completion),
// service (device time) and queueing delay, per kind of command.
#pragma once

#include <cstdint>
#include <sys/uio.h>
#include <vector>

#include "sdcard/card.h"
#include "tools/replay/replayer.h"
#include "tools/replay/trace.h"

namespace cardfs::replay {

class Timeline {
 public:
  explicit Timeline(sdcard::Card& card) : card_(card) {}

  struct Slot {
    int64_t start = 0, finish = 0;  // ns on the trace's clock
  };
  // The card commands of one device command, as blockdev's SdcardDriver
  // sends them (a preflush write: flush, then write).
  Result<Slot> run(const TraceEvent& e, int64_t arrival);
  void record(Op op, int64_t arrival, int64_t start, int64_t finish);
  // Device time the card spends after the last command (close()).
  void add_busy(Nanos t) { busy_until_ += t.count(); }
  int64_t busy_until() const { return busy_until_; }
  LatencyStats stats(Op op);

 private:
  std::span<const iovec> zeros(uint64_t sectors);

  sdcard::Card& card_;
  int64_t busy_until_ = 0;
  std::vector<int64_t> latency_[4], service_[4], wait_[4];
  std::vector<std::byte> zero_buf_;  // every command's memory (the card keeps none)
  std::vector<iovec> iov_;
};

}  // namespace cardfs::replay
