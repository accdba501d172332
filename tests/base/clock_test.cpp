#include "base/clock.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

using namespace std::chrono_literals;
using cardfs::Nanos;
using cardfs::VirtualClock;

TEST_CASE("VirtualClock with auto-advance moves forward on sleep") {
  VirtualClock clock;
  CHECK(clock.now() == Nanos(0));
  clock.sleep_for(5s);
  CHECK(clock.now() == Nanos(5s));
  clock.advance(1ms);
  CHECK(clock.now() == Nanos(5s) + Nanos(1ms));
  clock.sleep_until(Nanos(1s));  // in the past: no change
  CHECK(clock.now() == Nanos(5s) + Nanos(1ms));
}

TEST_CASE("VirtualClock without auto-advance blocks sleepers until advanced") {
  VirtualClock clock(/*auto_advance=*/false);
  std::atomic<bool> woke{false};
  std::thread sleeper([&] {
    clock.sleep_for(10s);
    woke = true;
  });
  // Bounded wait for the sleeper to block.
  for (int i = 0; i < 2000 && clock.sleepers() == 0; ++i) std::this_thread::sleep_for(1ms);
  REQUIRE(clock.sleepers() == 1);
  clock.advance(9s);
  std::this_thread::sleep_for(5ms);
  CHECK_FALSE(woke);
  clock.advance(1s);
  sleeper.join();
  CHECK(woke);
}

TEST_CASE("RealClock is monotonic") {
  cardfs::RealClock clock;
  Nanos a = clock.now();
  clock.sleep_for(1ms);
  CHECK(clock.now() - a >= Nanos(1ms));
}

TEST_CASE("Clock::wait_until returns at the deadline or when woken") {
  std::mutex mu;
  std::condition_variable cv;
  bool flag = false;
  auto wake = [&] { return flag; };
  SECTION("RealClock: the deadline passes") {
    cardfs::RealClock clock;
    Nanos t0 = clock.now();
    std::unique_lock lk(mu);
    CHECK_FALSE(clock.wait_until(lk, cv, t0 + Nanos(20ms), wake));
    CHECK(clock.now() - t0 >= Nanos(20ms));
  }
  SECTION("RealClock: a notify wakes it long before the deadline") {
    cardfs::RealClock clock;
    Nanos t0 = clock.now();
    std::thread waker([&] {
      std::this_thread::sleep_for(10ms);
      std::lock_guard g(mu);
      flag = true;
      cv.notify_all();
    });
    std::unique_lock lk(mu);
    CHECK(clock.wait_until(lk, cv, t0 + Nanos(60s), wake));
    lk.unlock();
    waker.join();
    CHECK(clock.now() - t0 < Nanos(30s));
  }
  SECTION("VirtualClock: only advancing it past the deadline ends the wait") {
    VirtualClock clock(/*auto_advance=*/false);
    std::atomic<bool> done{false}, woken{true};
    std::thread waiter([&] {  // Catch2 assertions stay on the test thread
      std::unique_lock lk(mu);
      woken = clock.wait_until(lk, cv, Nanos(10s), wake);
      done = true;
    });
    clock.advance(9s);
    std::this_thread::sleep_for(20ms);
    CHECK_FALSE(done);
    clock.advance(1s);
    for (int i = 0; i < 5000 && !done; ++i) std::this_thread::sleep_for(1ms);
    CHECK(done);
    waiter.join();
    CHECK_FALSE(woken);
    CHECK(clock.now() == Nanos(10s));  // waiting never moves it
  }
}
