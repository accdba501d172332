// sdcard/wear.h: the erase counts' spread and the histogram's scaled bars.
#include "sdcard/wear.h"

#include <catch2/catch.hpp>

namespace cardfs::sdcard {
namespace {

std::vector<AuState> aus_with(std::initializer_list<std::pair<uint32_t, uint32_t>> counts) {
  std::vector<AuState> out;
  for (auto [erases, n] : counts)
    for (uint32_t i = 0; i < n; ++i) out.push_back(AuState{erases, 0, -1, "data"});
  return out;
}

TEST_CASE("wear: min, mean and max erase counts, and AUs per power-of-two range", "[sdcard][wear]") {
  const auto aus = aus_with({{0, 2}, {1, 3}, {3, 1}, {6, 4}, {100, 1}});
  const WearStats w = wear_stats(aus);
  CHECK(w.aus == 11);
  CHECK(w.min == 0);
  CHECK(w.max == 100);
  CHECK(w.mean == Approx((3 + 3 + 24 + 100) / 11.0));
  CHECK(w.aus_erased == 9);
  REQUIRE(w.buckets.size() == 5);
  CHECK(w.buckets[0].range() == "0");
  CHECK(w.buckets[1].range() == "1");
  CHECK(w.buckets[2].range() == "2-3");
  CHECK(w.buckets[3].range() == "4-7");
  CHECK(w.buckets[3].aus == 4);
  CHECK(w.buckets[4].range() == "64-127");
  CHECK(wear_stats({}).aus == 0);
}

TEST_CASE("wear bars scale to the fullest range: 829 and 64 AUs no longer draw the same bar",
          "[sdcard][wear]") {
  CHECK(bar_length(829, 829, 60) == 60);
  CHECK(bar_length(64, 829, 60) == 5);  // 4.6, rounded
  CHECK(bar_length(1, 829, 60) == 1);   // an AU is never invisible
  CHECK(bar_length(0, 829, 60) == 0);
  CHECK(bar_length(10, 20, 50) == 25);
}

}  // namespace
}  // namespace cardfs::sdcard
