#include "base/clock.h"

#include <ctime>
#include <thread>

namespace cardfs {

Nanos RealClock::now() const {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return Nanos(int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec);
}

void RealClock::sleep_until(Nanos deadline) {
  Nanos left = deadline - now();
  if (left > Nanos(0)) std::this_thread::sleep_for(left);
}

Nanos VirtualClock::now() const {
  std::lock_guard lock(mu_);
  return now_;
}

void VirtualClock::sleep_until(Nanos deadline) {
  std::unique_lock lock(mu_);
  if (auto_advance_) {
    if (deadline > now_) now_ = deadline;
    cv_.notify_all();
    return;
  }
  ++sleepers_;
  cv_.wait(lock, [&] { return now_ >= deadline; });
  --sleepers_;
}

void VirtualClock::advance(Nanos d) {
  std::lock_guard lock(mu_);
  now_ += d;
  cv_.notify_all();
}

void VirtualClock::set(Nanos t) {
  std::lock_guard lock(mu_);
  if (t > now_) now_ = t;
  cv_.notify_all();
}

int VirtualClock::sleepers() const {
  std::lock_guard lock(mu_);
  return sleepers_;
}

}  // namespace cardfs
