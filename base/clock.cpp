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

bool RealClock::wait_until(std::unique_lock<std::mutex>& lk, std::condition_variable& cv,
                           Nanos deadline, const std::function<bool()>& wake) {
  // libstdc++'s steady_clock is CLOCK_MONOTONIC, the same origin as now().
  return cv.wait_until(lk, std::chrono::steady_clock::time_point(deadline), wake);
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

bool Clock::wait_until(std::unique_lock<std::mutex>& lk, std::condition_variable& cv,
                       Nanos deadline, const std::function<bool()>& wake) {
  while (!wake() && now() < deadline) cv.wait_for(lk, std::chrono::milliseconds(1));
  return wake();
}

int VirtualClock::sleepers() const {
  std::lock_guard lock(mu_);
  return sleepers_;
}

}  // namespace cardfs
