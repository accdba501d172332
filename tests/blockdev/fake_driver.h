// FakeDriver: a Driver for tests and benchmarks of the request queue.
//
// Records every command it receives. By default it completes each command
// inside start() (a zero-cost device); with hold(true) commands wait until
// the test calls complete_next()/complete_all(), which is how a test keeps
// requests pending to watch merging and scheduling. fail_next(n, err) makes
// the next n commands complete with -err. model_device_time() gives each
// command a device time (per command + per sector), summed in
// device_time() as the card's timing model does. Thread-safe.
#pragma once

#include <deque>
#include <mutex>
#include <vector>

#include "blockdev/driver.h"

namespace cardfs::testing {

struct DriverLogEntry {
  blockdev::BioOp op;
  uint64_t sector;
  uint64_t sectors;
  bool preflush;
  bool fua;
  size_t iovecs;
};

class FakeDriver final : public blockdev::Driver {
 public:
  explicit FakeDriver(uint64_t sectors = 1ull << 24, uint32_t depth = 1, bool record = true)
      : sectors_(sectors), depth_(depth), record_(record) {}

  uint64_t sector_count() const override { return sectors_; }
  uint32_t queue_depth() const override { return depth_; }
  void start(blockdev::DriverCommand cmd, std::function<void(int)> done) override;
  std::optional<Nanos> device_time() const override;
  void model_device_time(Nanos per_command, Nanos per_sector);

  void hold(bool on);
  void fail_next(size_t n, int err);
  // Completes the oldest held command; false if none is held.
  bool complete_next();
  size_t complete_all();
  size_t held() const;
  size_t max_outstanding() const;
  std::vector<DriverLogEntry> log() const;

 private:
  struct Held {
    int status;
    std::function<void(int)> done;
  };
  const uint64_t sectors_;
  const uint32_t depth_;
  const bool record_;
  mutable std::mutex mu_;
  bool hold_ = false;
  size_t fail_n_ = 0;
  int fail_err_ = 0;
  std::deque<Held> held_;
  size_t outstanding_ = 0, max_outstanding_ = 0;
  std::vector<DriverLogEntry> log_;
  bool timed_ = false;
  Nanos per_command_{0}, per_sector_{0}, device_time_{0};
};

}  // namespace cardfs::testing
