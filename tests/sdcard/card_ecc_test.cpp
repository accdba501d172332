// Damaged flash pages fail their reads with EIO, as a real card's ECC
// makes them, instead of being served silently (issue 15, item 4).
#include <catch2/catch.hpp>

#include <iterator>

#include "base/clock.h"
#include "sdcard/card.h"
#include "sdcard/geometry.h"
#include "sdcard/image_format.h"
#include "tests/sdcard/card_fixture.h"

namespace cardfs::sdcard {
namespace {

constexpr uint64_t MiB = 1 << 20;

struct Image {
  std::string path;
  Geometry geometry;
  ImageLayout layout;
  uint32_t spp = 0;  // sectors per page
};

// A 16 MiB class10 card (4 AUs) whose first 2 MiB hold pattern tag 3, closed cleanly
// (every page covered by the checkpoint).
Image make_image(const testing::ScratchDir& dir) {
  VirtualClock clock;
  Image img;
  img.path = dir.path("c.img");
  auto card = Card::create(img.path, testing::profile("class10"), 16 * MiB, clock);
  REQUIRE(card.is_ok());
  REQUIRE(testing::write(**card, 0, testing::pattern(0, 4096, 3)).is_ok());
  img.geometry = (*card)->geometry();
  REQUIRE((*card)->close().is_ok());
  img.layout = layout_for(img.geometry);
  img.spp = img.geometry.sectors_per_page();
  return img;
}


// The physical page whose valid OOB record holds logical page lp.
uint64_t physical_page_of(const Image& img, uint32_t lp) {
  const uint64_t n = img.geometry.physical_pages();
  const std::vector<char> oob = testing::file_bytes(img.path, img.layout.oob_offset, n * kOobBytes);
  for (uint64_t pp = 0; pp < n; ++pp) {
    OobRecord r;
    if (decode_oob(reinterpret_cast<const std::byte*>(oob.data()) + pp * kOobBytes, &r) == OobState::kValid &&
        r.logical_page == lp)
      return pp;
  }
  FAIL("no copy of logical page " << lp);
  return 0;
}

// Flips 8 bytes at `offset` into the data of logical page lp's copy.
void damage_data(const Image& img, uint32_t lp, uint64_t offset, char byte) {
  const uint64_t pp = physical_page_of(img, lp);
  testing::poke_file(img.path, img.layout.flash_offset + pp * img.geometry.page_bytes + offset, std::vector<char>(8, byte));
}

std::unique_ptr<Card> open_card(const std::string& path, Clock& clock) {
  auto card = Card::open(path, clock);
  REQUIRE(card.is_ok());
  return std::move(card).value();
}

TEST_CASE("flipped bytes in a checkpointed data page fail its reads with EIO (were served silently)",
          "[sdcard][ecc]") {
  testing::ScratchDir dir("ecc-data");
  const Image img = make_image(dir);
  damage_data(img, 1, 100, '\x5a');

  VirtualClock clock;
  auto card = open_card(img.path, clock);
  CHECK(testing::untagged_sectors(*card, 0, img.spp, 3) == 0);  // page 0 is fine
  CHECK(card->counters().ecc_errors == 0);
  auto patrol = card->unreadable_pages();
  REQUIRE(patrol.is_ok());
  CHECK(*patrol == std::vector<uint32_t>{1});
  CHECK(card->counters().ecc_errors == 0);  // a patrol read is not a host read
  CHECK(testing::read(*card, img.spp, img.spp).status().code() == EIO);      // the whole page
  CHECK(testing::read(*card, img.spp + 5, 1).status().code() == EIO);        // one sector of it
  CHECK(testing::read(*card, img.spp - 4, 8).status().code() == EIO);        // a read across into it
  CHECK(card->counters().ecc_errors == 3);
  CHECK(testing::read(*card, 2 * img.spp, img.spp).is_ok());

  // Rewriting the page makes it good again, and it stays good after a reopen.
  REQUIRE(testing::write(*card, img.spp, testing::pattern(img.spp, img.spp, 4), true).is_ok());
  CHECK(testing::untagged_sectors(*card, img.spp, img.spp, 4) == 0);
  REQUIRE(card->close().is_ok());
  card = open_card(img.path, clock);
  CHECK(testing::untagged_sectors(*card, img.spp, img.spp, 4) == 0);
}

TEST_CASE("a damaged OOB record fails its page's reads with EIO (read as zeros), across reopens", "[sdcard][ecc]") {
  testing::ScratchDir dir("ecc-oob");
  const Image img = make_image(dir);
  const uint64_t pp = physical_page_of(img, 2);
  testing::poke_file(img.path, img.layout.oob_offset + pp * kOobBytes + 8, {'\x01', '\x02'});

  VirtualClock clock;
  auto card = open_card(img.path, clock);
  CHECK(testing::read(*card, 2 * img.spp, 8).status().code() == EIO);
  CHECK(card->counters().ecc_errors == 1);
  auto patrol = card->unreadable_pages();
  REQUIRE(patrol.is_ok());
  CHECK(*patrol == std::vector<uint32_t>{2});
  CHECK(testing::untagged_sectors(*card, 3 * img.spp, img.spp, 3) == 0);
  // The checkpoint written at close still names the lost copy.
  REQUIRE(card->close().is_ok());
  card = open_card(img.path, clock);
  CHECK(testing::read(*card, 2 * img.spp, 8).status().code() == EIO);
  // A partial write rebuilds the page (the rest as zeros); a trim forgets it.
  REQUIRE(testing::write(*card, 2 * img.spp, testing::pattern(2 * img.spp, 1, 5), true).is_ok());
  CHECK(testing::untagged_sectors(*card, 2 * img.spp, 1, 5) == 0);
  CHECK(testing::untagged_sectors(*card, 2 * img.spp + 1, img.spp - 1, 0) == 0);
  REQUIRE(card->close().is_ok());

  const uint64_t pp4 = physical_page_of(img, 4);
  testing::poke_file(img.path, img.layout.oob_offset + pp4 * kOobBytes + 8, {'\x01', '\x02'});
  card = open_card(img.path, clock);
  CHECK(testing::read(*card, 4 * img.spp, 8).status().code() == EIO);
  REQUIRE(card->discard(4 * img.spp, img.spp).is_ok());
  CHECK(testing::untagged_sectors(*card, 4 * img.spp, img.spp, 0) == 0);
}

TEST_CASE("a page the write buffer fully covers is read from the buffer, a damaged one under it is not read",
          "[sdcard][ecc]") {
  testing::ScratchDir dir("ecc-buffer");
  const Image img = make_image(dir);
  damage_data(img, 1, 0, '\x5a');
  VirtualClock clock;
  auto card = open_card(img.path, clock);
  REQUIRE(testing::write(*card, img.spp, testing::pattern(img.spp, 4, 6)).is_ok());  // buffered, not programmed
  CHECK(testing::untagged_sectors(*card, img.spp, 4, 6) == 0);
  CHECK(testing::read(*card, img.spp + 4, 1).status().code() == EIO);
}

TEST_CASE("a partial write to a damaged page keeps it unreadable until all of it is rewritten (lost its damage)",
          "[sdcard][ecc]") {
  // The write took the page's other sectors from the damaged copy without
  // checking them and recorded a fresh CRC over them: the page read as good.
  testing::ScratchDir dir("ecc-partial");
  const Image img = make_image(dir);
  damage_data(img, 3, 64, '\x33');
  VirtualClock clock;
  auto card = open_card(img.path, clock);
  const uint64_t page = 3 * img.spp;
  auto unreadable = [&] {
    CHECK(testing::read(*card, page, 1).status().code() == EIO);
    CHECK(testing::read(*card, page + 2, 1).status().code() == EIO);  // the sector written
    auto patrol = card->unreadable_pages();
    REQUIRE(patrol.is_ok());
    CHECK(*patrol == std::vector<uint32_t>{3});
  };
  REQUIRE(testing::write(*card, page + 2, testing::pattern(page + 2, 1, 8), true).is_ok());
  unreadable();
  REQUIRE(card->close().is_ok());
  card = open_card(img.path, clock);
  unreadable();
  // Again over the copy now marked uncorrectable (its data matches its CRC).
  REQUIRE(testing::write(*card, page + 5, testing::pattern(page + 5, 2, 8), true).is_ok());
  unreadable();
  CHECK(testing::untagged_sectors(*card, 2 * img.spp, img.spp, 3) == 0);  // its neighbours read
  CHECK(testing::untagged_sectors(*card, 4 * img.spp, img.spp, 3) == 0);
  REQUIRE(testing::write(*card, page, testing::pattern(page, img.spp, 9), true).is_ok());
  CHECK(testing::untagged_sectors(*card, page, img.spp, 9) == 0);
  REQUIRE(card->close().is_ok());
  card = open_card(img.path, clock);
  CHECK(testing::untagged_sectors(*card, page, img.spp, 9) == 0);
}

TEST_CASE("a merge copy of a damaged page stays unreadable", "[sdcard][ecc]") {
  // A card moving a page its ECC cannot correct does not make it good.
  testing::ScratchDir dir("ecc-merge");
  const Image img = make_image(dir);
  damage_data(img, 3, 64, '\x33');
  VirtualClock clock;
  auto card = open_card(img.path, clock);
  // Damaged while the card is in use: the map still names this copy.
  testing::poke_file(img.path, img.layout.oob_offset + physical_page_of(img, 4) * kOobBytes + 8, {'\x01', '\x02'});
  // Page 5 rewritten (out of place: its slot in the open log is taken),
  // then two other AUs: the block FTL closes AU 0's log with a full merge,
  // which copies page 3 with the rest.
  REQUIRE(testing::write(*card, 5 * img.spp, testing::pattern(5 * img.spp, img.spp, 7), true).is_ok());
  for (uint64_t au = 1; au <= 2; ++au) {
    const uint64_t far = img.geometry.pages_per_au * uint64_t(img.spp) * au;
    REQUIRE(testing::write(*card, far, testing::pattern(far, img.spp, 7), true).is_ok());
  }
  INFO("merges " << card->counters().merges << " copied " << card->counters().merge_pages_copied << " closes "
                  << card->counters().au_closes << " opens " << card->counters().au_opens);
  CHECK(card->counters().merge_pages_copied > 0);
  for (int reopen = 0; reopen < 2; ++reopen) {
    INFO((reopen ? "after a clean reopen" : "after the merge"));
    CHECK(testing::read(*card, 3 * img.spp, 1).status().code() == EIO);
    CHECK(testing::read(*card, 4 * img.spp, 1).status().code() == EIO);
    CHECK(testing::untagged_sectors(*card, 5 * img.spp, img.spp, 7) == 0);
    CHECK(testing::untagged_sectors(*card, 6 * img.spp, img.spp, 3) == 0);
    REQUIRE(card->close().is_ok());
    card = open_card(img.path, clock);
  }
}

}  // namespace
}  // namespace cardfs::sdcard
