// The allocator's pure parts: metadata AUs and reservation windows
// (fusefs/meta_aus.h, fusefs/reservation.h), without a filesystem.
#include <catch2/catch.hpp>

#include "fusefs/meta_aus.h"
#include "fusefs/reservation.h"

using namespace cardfs::fusefs;

namespace {

// Two groups of 64 blocks over AUs of 16 blocks, each group's metadata
// in its first AU.
std::vector<GroupLayout> two_groups() {
  GroupLayout a, b;
  a.first = 0, a.count = 64, a.first_data = 5;
  b.first = 64, b.count = 64, b.first_data = 70;
  return {a, b};
}

}  // namespace

TEST_CASE("metadata AUs: the AUs before each group's data, off past a quarter of the AUs") {
  MetadataAus meta(16, 128, two_groups());
  REQUIRE(meta.on());
  CHECK(meta.contains(0));
  CHECK(meta.contains(15));
  CHECK_FALSE(meta.contains(16));
  CHECK(meta.contains(64));
  CHECK_FALSE(meta.contains(80));
  CHECK_FALSE(meta.contains(1000));  // past the end
  CHECK_FALSE(MetadataAus(64, 128, two_groups()).on());  // 2 of 2 AUs: off
  CHECK_FALSE(MetadataAus().on());
}

TEST_CASE("reservation windows: sized, cut by the next window and by a metadata AU, bounded in number") {
  MetadataAus meta(16, 128, two_groups());
  ReservationWindows w(4096, 4096);
  Reservation a;
  a.size = 8;
  w.open(a, 20, meta);
  CHECK(a.start == 20);
  CHECK(a.end == 28);
  CHECK(w.end_of_window_at(25) == 28);
  CHECK(w.end_of_window_at(28) == 0);
  Reservation b;
  b.size = 8;
  w.open(b, 16, meta);  // runs into a's window
  CHECK(b.end == 20);
  Reservation c;
  c.size = 32;
  w.open(c, 50, meta);  // data stops before group 1's metadata AU at 64
  CHECK(c.end == 64);
  CHECK(w.holds(a));
  w.close(a);
  CHECK_FALSE(w.holds(a));
  CHECK(w.count() == 2);
  for (uint64_t i = 0; i < 600; ++i) {  // never released: the oldest are dropped
    Reservation r;
    r.size = 1;
    w.open(r, 1000 + i, meta);
  }
  CHECK(w.count() == 512);
  CHECK_FALSE(w.holds(b));
}
