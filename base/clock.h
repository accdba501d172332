// Clock: every layer that waits or measures time takes one of these.
//
// RealClock reads CLOCK_MONOTONIC and sleeps for real. VirtualClock only
// moves when told to, so tests of the card, the queue and the cache are
// deterministic: a test says clock.advance(30s) instead of sleeping.
// Both are thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

namespace cardfs {

using Nanos = std::chrono::nanoseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  // Time since an arbitrary fixed origin.
  virtual Nanos now() const = 0;
  // Returns once now() >= deadline.
  virtual void sleep_until(Nanos deadline) = 0;
  void sleep_for(Nanos d) { sleep_until(now() + d); }
  // Waits on cv (lk held, as for cv.wait) until wake() is true or now() >=
  // deadline; returns wake(). Lets a thread sleep on this clock and still be
  // woken at once by a notify of cv (a kick, a stop). This default re-reads
  // now() every real millisecond (a virtual clock's advance() does not know
  // cv) and never moves the clock; RealClock does one timed wait.
  virtual bool wait_until(std::unique_lock<std::mutex>& lk, std::condition_variable& cv,
                          Nanos deadline, const std::function<bool()>& wake);
};

class RealClock final : public Clock {
 public:
  Nanos now() const override;
  void sleep_until(Nanos deadline) override;
  bool wait_until(std::unique_lock<std::mutex>& lk, std::condition_variable& cv,
                  Nanos deadline, const std::function<bool()>& wake) override;
};

// A clock that moves only through advance() or set().
//
// With auto_advance (the default), sleep_until() moves the clock forward to
// the deadline itself, which suits single-threaded tests: "sleeping" costs
// nothing and time still adds up. Without it, sleep_until() blocks until
// another thread advances the clock, which suits tests of background
// threads (a flusher waking every 5 s).
class VirtualClock final : public Clock {
 public:
  explicit VirtualClock(bool auto_advance = true) : auto_advance_(auto_advance) {}
  Nanos now() const override;
  void sleep_until(Nanos deadline) override;
  void advance(Nanos d);
  void set(Nanos t);  // t must not be earlier than now()
  // Number of threads blocked in sleep_until (without auto_advance).
  int sleepers() const;

 private:
  const bool auto_advance_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Nanos now_{0};
  int sleepers_ = 0;
};

}  // namespace cardfs
