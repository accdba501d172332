// SdcardDriver: the request queue's Driver over the emulated SD card.
//
// A dispatch thread takes commands in the order start() gave them and runs
// each on the Card (which serialises commands itself, as an SD card takes
// one at a time); completions run on that thread. queue_depth() defaults to
// 1: the queue then keeps the rest in its elevator, where they can still
// merge and be sorted. A preflush write is a cache flush followed by the
// write; FUA is passed to the card. A Card error completes the command with
// -errno. The Card must outlive the driver; the destructor finishes the
// commands already started, then stops the thread. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "blockdev/driver.h"
#include "sdcard/card.h"

namespace cardfs::blockdev {

class SdcardDriver final : public Driver {
 public:
  explicit SdcardDriver(sdcard::Card& card, uint32_t depth = 1);
  ~SdcardDriver() override;
  SdcardDriver(const SdcardDriver&) = delete;
  SdcardDriver& operator=(const SdcardDriver&) = delete;

  uint64_t sector_count() const override { return card_.sector_count(); }
  uint32_t queue_depth() const override { return depth_; }
  void start(DriverCommand cmd, std::function<void(int status)> done) override;
  std::optional<Nanos> device_time() const override { return card_.device_time(); }
  // Card::discard's contract: trimmed sectors read back as zeros.
  bool discard_zeroes_data() const override { return true; }

 private:
  struct Pending {
    DriverCommand cmd;
    std::function<void(int)> done;
  };
  void run();
  Status execute(const DriverCommand& cmd);

  sdcard::Card& card_;
  const uint32_t depth_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> pending_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the rest is built
};

}  // namespace cardfs::blockdev
