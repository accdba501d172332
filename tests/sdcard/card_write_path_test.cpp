// The fast write path: whole pages borrowed from the host's buffers
// (never read after write() returns), and AUs allocated in the image only
// when the FTL opens them.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>

#include "base/clock.h"
#include "sdcard/card.h"
#include "sdcard/geometry.h"
#include "tests/sdcard/card_fixture.h"

namespace cardfs::sdcard {
namespace {

using testing::pattern;
using testing::tag_of;

constexpr uint64_t MiB = 1 << 20;

TEST_CASE("a write keeps no reference to the host's buffer after it returns", "[sdcard][write_path]") {
  testing::ScratchDir dir("borrow");
  VirtualClock clock;
  const std::string path = dir.path("c.img");
  const char* name = GENERATE("a2", "class10");  // 1 MiB and 512 KiB buffers
  INFO("profile " << name);
  {
    auto card = Card::create(path, testing::profile(name), 16 * MiB, clock);
    REQUIRE(card.is_ok());
    Card& c = **card;
    // 1.5 MiB: the buffer fills and drains during the command, the rest
    // stays buffered after it; then the host reuses its memory.
    std::vector<std::byte> host = pattern(0, 3072, 1);
    REQUIRE(testing::write(c, 0, host).is_ok());
    std::fill(host.begin(), host.end(), std::byte{0xEE});
    CHECK(testing::untagged_sectors(c, 0, 3072, 1) == 0);
    // A page split over two segments is copied; the whole ones borrowed.
    std::vector<std::byte> a = pattern(4096, 40, 2), b = pattern(4136, 88, 2);
    iovec v[2] = {{a.data(), a.size()}, {b.data(), b.size()}};
    REQUIRE(c.write(4096, std::span<const iovec>(v, 2), false).is_ok());
    std::fill(a.begin(), a.end(), std::byte{0xEE});
    std::fill(b.begin(), b.end(), std::byte{0xEE});
    CHECK(testing::untagged_sectors(c, 4096, 128, 2) == 0);
    // Part of a buffered (formerly borrowed) page rewritten.
    REQUIRE(testing::write(c, 3000, pattern(3000, 8, 3)).is_ok());
    CHECK(testing::untagged_sectors(c, 3000, 8, 3) == 0);
    CHECK(testing::untagged_sectors(c, 2944, 56, 1) == 0);
    REQUIRE(c.flush().is_ok());
    CHECK(testing::untagged_sectors(c, 0, 3000, 1) == 0);
    REQUIRE(c.close().is_ok());
  }
  auto card = Card::open(path, clock);
  REQUIRE(card.is_ok());
  CHECK(testing::untagged_sectors(**card, 0, 3000, 1) == 0);
  CHECK(testing::untagged_sectors(**card, 3000, 8, 3) == 0);
  CHECK(testing::untagged_sectors(**card, 3008, 64, 1) == 0);
  CHECK(testing::untagged_sectors(**card, 4096, 128, 2) == 0);
}

TEST_CASE("the image stays sparse: only AUs the FTL opened take space", "[sdcard][write_path]") {
  testing::ScratchDir dir("sparse");
  VirtualClock clock;
  const std::string path = dir.path("c.img");
  auto card = Card::create(path, testing::profile("a2"), 256 * MiB, clock);
  REQUIRE(card.is_ok());
  REQUIRE(testing::write(**card, 0, pattern(0, 64, 1)).is_ok());
  REQUIRE((*card)->close().is_ok());
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  // One open AU (4 MiB) plus metadata; 256 MiB of flash would be far more.
  CHECK(uint64_t(st.st_blocks) * 512 < 16 * MiB);
  CHECK(uint64_t(st.st_size) > 256 * MiB);
}

TEST_CASE("an AU opened for a few pages allocates those in the image, not the whole AU", "[sdcard][write_path]") {
  // A filesystem's metadata AUs take a few pages each: allocating every
  // AU whole when the FTL opened it left 2 GiB of a new 64 GiB card's
  // image allocated.
  testing::ScratchDir dir("sparse_aus");
  VirtualClock clock;
  const std::string path = dir.path("c.img");
  auto card = Card::create(path, testing::profile("class10"), 256 * MiB, clock);
  REQUIRE(card.is_ok());
  const uint64_t au_sectors = (*card)->geometry().pages_per_au * (*card)->geometry().sectors_per_page();
  for (uint64_t au = 0; au < 32; ++au) REQUIRE(testing::write(**card, au * au_sectors, pattern(au * au_sectors, 8, 1)).is_ok());
  REQUIRE((*card)->close().is_ok());
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK(uint64_t(st.st_blocks) * 512 < 8 * MiB);  // 32 AUs whole: 128 MiB
  card = Card::open(path, clock);
  REQUIRE(card.is_ok());
  for (uint64_t au = 0; au < 32; ++au) CHECK(testing::untagged_sectors(**card, au * au_sectors, 8, 1) == 0);
}

}  // namespace
}  // namespace cardfs::sdcard
