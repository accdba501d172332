#include "base/clock.h"

#include <catch2/catch.hpp>
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
