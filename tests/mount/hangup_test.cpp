// HangupHandler: SIGHUP runs the callback instead of ending the process,
// signals during a run are merged, and after destruction SIGHUP is ignored.
#include "fusefs/fuse/hangup.h"

#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

using namespace cardfs::fuse;

namespace {

// Bounded wait for a condition (5 s).
template <typename F>
bool eventually(F done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

}  // namespace

TEST_CASE("SIGHUP runs the hangup callback and does not end the process") {
  std::atomic<int> runs{0};
  {
    auto h = HangupHandler::install([&] { runs++; });
    REQUIRE(h.is_ok());
    REQUIRE(raise(SIGHUP) == 0);
    CHECK(eventually([&] { return runs.load() == 1; }));
    REQUIRE(raise(SIGHUP) == 0);
    CHECK(eventually([&] { return runs.load() == 2; }));
  }
  // Destroyed: SIGHUP is ignored from now on (the process survives it).
  REQUIRE(raise(SIGHUP) == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(runs.load() == 2);
  signal(SIGHUP, SIG_DFL);
}

TEST_CASE("SIGHUPs arriving during a run are merged into one more run") {
  std::atomic<int> runs{0};
  std::atomic<bool> release{false};
  {
    auto h = HangupHandler::install([&] {
      runs++;
      while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
    REQUIRE(h.is_ok());
    REQUIRE(raise(SIGHUP) == 0);
    REQUIRE(eventually([&] { return runs.load() == 1; }));
    for (int i = 0; i < 5; ++i) REQUIRE(raise(SIGHUP) == 0);
    release = true;
    CHECK(eventually([&] { return runs.load() == 2; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(runs.load() == 2);
  }
  signal(SIGHUP, SIG_DFL);
}
