// DataSlots' moves: the moved page names its source's units and list,
// and the references are handed on rather than counted twice.
#include <catch2/catch.hpp>
#include <vector>

#include "sdcard/data_slots.h"

namespace cardfs::sdcard {
namespace {

constexpr uint32_t kUpp = 4;
constexpr uint32_t kAll = (1u << kUpp) - 1;

std::vector<uint32_t> units(const DataSlots& s, uint64_t pp) {
  const auto u = s.units_of(pp);
  return {u.begin(), u.end()};
}

TEST_CASE("a move names the source's units and hands on its references", "[sdcard][slots]") {
  DataSlots s;
  s.reset(16, kUpp, true);
  REQUIRE(units(s, 0) == std::vector<uint32_t>{DataSlots::kNone, DataSlots::kNone, DataSlots::kNone, DataSlots::kNone});
  REQUIRE(!s.program(0, kAll, {}).empty());
  REQUIRE(units(s, 0) == std::vector<uint32_t>{0, 1, 2, 3});
  s.move(0, 5);
  CHECK(units(s, 5) == units(s, 0));
  CHECK(s.page_slot(5) == 0);
  CHECK(s.named_pages() == 2);
  CHECK(s.units_in_use() == 4);

  SECTION("the source erased first: the destination keeps the units") {
    s.release(0);
    CHECK(s.erased(0));
    CHECK(s.units_in_use() == 4);
    // Page 0 programmed again cannot take its own units: page 5 has them.
    REQUIRE(!s.program(0, kAll, {}).empty());
    for (uint32_t u : units(s, 0)) CHECK(u >= 4);
    CHECK(s.units_in_use() == 8);
    s.release(5);
    CHECK(s.units_in_use() == 4);
    CHECK(s.named_pages() == 1);
  }
  SECTION("the destination erased first frees them: they were handed to it") {
    s.release(5);
    CHECK(s.units_in_use() == 0);
    s.release(0);
    CHECK(s.units_in_use() == 0);
    CHECK(s.named_pages() == 0);
  }
  SECTION("a second move of a source that handed on its references counts") {
    s.move(0, 9);
    CHECK(units(s, 9) == units(s, 0));
    s.release(5);
    CHECK(s.units_in_use() == 4);  // page 9 holds them
    s.release(0);
    CHECK(s.units_in_use() == 4);
    s.release(9);
    CHECK(s.units_in_use() == 0);
  }
  SECTION("a chain of moves: only its last page holds") {
    s.move(5, 10);
    s.release(0);
    s.release(5);
    CHECK(s.units_in_use() == 4);
    CHECK(units(s, 10) == std::vector<uint32_t>{0, 1, 2, 3});
    s.release(10);
    CHECK(s.units_in_use() == 0);
  }
}

TEST_CASE("a moved page's unit list stays taken until the page it was handed to is erased", "[sdcard][slots]") {
  DataSlots s;
  s.reset(16, kUpp, true);
  REQUIRE(!s.program(0, kAll, {}).empty());
  // Page 1 rewrites part 0 only: its other parts are page 0's, so its
  // units are no slot's run and it takes a unit list.
  const std::vector<uint32_t> base = units(s, 0);
  REQUIRE(!s.program(1, 1u, base).empty());
  REQUIRE(s.page_slot(1) == DataSlots::kNone);
  const uint32_t list = s.allocate_list(1);
  REQUIRE(list == 1);
  s.set_list(1, list);
  CHECK(s.allocate_list(1) != 1);  // taken

  s.move(1, 7);
  CHECK(s.list_of(7) == 1);
  CHECK(units(s, 7) == units(s, 1));
  s.release(1);
  CHECK(s.allocate_list(1) != 1);  // page 7 names it
  CHECK(s.units_in_use() == 5);    // page 0's four and page 1's new one
  s.release(7);
  CHECK(s.allocate_list(1) == 1);
  CHECK(s.units_in_use() == 4);
}

TEST_CASE("an image of version 1 copies: its moves count every name", "[sdcard][slots]") {
  DataSlots s;
  s.reset(8, kUpp, false);
  REQUIRE(!s.program(0, kAll, {}).empty());
  s.move(0, 3);
  s.release(3);
  CHECK(s.units_in_use() == 4);  // page 0 still holds its own
  s.release(0);
  CHECK(s.units_in_use() == 0);
}

}  // namespace
}  // namespace cardfs::sdcard
