#include "tests/blockdev/fake_driver.h"

namespace cardfs::testing {

void FakeDriver::start(blockdev::DriverCommand cmd, std::function<void(int)> done) {
  int status = 0;
  {
    std::lock_guard lock(mu_);
    if (record_) log_.push_back({cmd.op, cmd.sector, cmd.sectors, cmd.preflush, cmd.fua, cmd.iov.size()});
    device_time_ += per_command_ + per_sector_ * int64_t(cmd.sectors);
    if (fail_n_ > 0) {
      --fail_n_;
      status = -fail_err_;
    }
    max_outstanding_ = std::max(max_outstanding_, ++outstanding_);
    if (hold_) {
      held_.push_back({status, std::move(done)});
      return;
    }
    --outstanding_;
  }
  done(status);
}

std::optional<Nanos> FakeDriver::device_time() const {
  std::lock_guard lock(mu_);
  if (!timed_) return std::nullopt;
  return device_time_;
}

void FakeDriver::model_device_time(Nanos per_command, Nanos per_sector) {
  std::lock_guard lock(mu_);
  timed_ = true;
  per_command_ = per_command;
  per_sector_ = per_sector;
}

void FakeDriver::hold(bool on) {
  std::lock_guard lock(mu_);
  hold_ = on;
}

void FakeDriver::fail_next(size_t n, int err) {
  std::lock_guard lock(mu_);
  fail_n_ = n;
  fail_err_ = err;
}

bool FakeDriver::complete_next() {
  Held h;
  {
    std::lock_guard lock(mu_);
    if (held_.empty()) return false;
    h = std::move(held_.front());
    held_.pop_front();
    --outstanding_;
  }
  h.done(h.status);
  return true;
}

size_t FakeDriver::complete_all() {
  size_t n = 0;
  while (complete_next()) ++n;
  return n;
}

size_t FakeDriver::held() const {
  std::lock_guard lock(mu_);
  return held_.size();
}

size_t FakeDriver::max_outstanding() const {
  std::lock_guard lock(mu_);
  return max_outstanding_;
}

std::vector<DriverLogEntry> FakeDriver::log() const {
  std::lock_guard lock(mu_);
  return log_;
}

}  // namespace cardfs::testing
