// Lifetime counters kept in the image (issue 18, item 1) and the health
// estimate on eMMC's DEVICE_LIFE_TIME_EST scale.
#include <catch2/catch.hpp>

#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include "base/clock.h"
#include "sdcard/card.h"
#include "sdcard/card_impl.h"  // kCheckpointEveryPrograms
#include "sdcard/health.h"
#include "sdcard/image_format.h"
#include "sdcard/profiles.h"
#include "tests/sdcard/card_fixture.h"

namespace cardfs::sdcard {
namespace {

constexpr uint64_t MiB = 1 << 20;

TEST_CASE("lifetime counters add up across opens and survive a clean close", "[sdcard][lifetime]") {
  testing::ScratchDir dir("lifetime");
  const auto store = testing::TestStore::image(dir.path("c.img"));
  VirtualClock clock;
  {
    auto card = store.create(testing::profile("class10"), 16 * MiB, clock);
    REQUIRE(card.is_ok());
    REQUIRE(testing::write(**card, 0, testing::pattern(0, 2048, 1)).is_ok());  // 1 MiB
    REQUIRE((*card)->close().is_ok());
  }
  Lifetime first;
  {
    auto card = store.open(clock);
    REQUIRE(card.is_ok());
    first = (*card)->lifetime();
    CHECK(first.host_bytes_written == MiB);
    CHECK(first.flash_bytes_programmed >= MiB);
    CHECK(first.power_cycles == 2);  // the create, then this open
    CHECK(first.unclean_shutdowns == 0);
    REQUIRE(testing::read(**card, 0, 8).is_ok());
    REQUIRE(testing::write(**card, 4096, testing::pattern(4096, 2048, 2)).is_ok());
    REQUIRE((*card)->close().is_ok());
  }
  CardOptions ro;
  ro.read_only = true;
  auto card = store.open(clock, ro);
  REQUIRE(card.is_ok());
  const Lifetime t = (*card)->lifetime();
  CHECK(t.host_bytes_written == 2 * MiB);
  CHECK(t.host_bytes_read == 8 * 512);
  CHECK(t.flash_bytes_programmed >= first.flash_bytes_programmed + MiB);
  CHECK(t.power_cycles == 2);  // a read-only open powers nothing
}

TEST_CASE("an unclean stop is counted and keeps what the last checkpoint stored", "[sdcard][lifetime]") {
  testing::ScratchDir dir("lifetime");
  const auto store = testing::TestStore::image(dir.path("c.img"));
  VirtualClock clock;
  {
    auto card = store.create(testing::profile("a1"), 512 * MiB, clock);
    REQUIRE(card.is_ok());
    // More pages than a checkpoint interval: the counters reach the image
    // with the periodic checkpoint, before any close.
    const auto data = testing::pattern(0, 2048, 7);
    for (uint64_t s = 0; s < (kCheckpointEveryPrograms + 64) * 32; s += 2048)
      REQUIRE(testing::write(**card, s, data).is_ok());
    FaultPlan cut;
    cut.power_cut_after = 1;
    (*card)->set_faults(cut);
    (void)testing::write(**card, 0, data);
    (void)testing::write(**card, 0, data);
    REQUIRE((*card)->powered_off());
  }
  auto card = store.open(clock);
  REQUIRE(card.is_ok());
  const Lifetime t = (*card)->lifetime();
  CHECK(t.unclean_shutdowns == 1);
  CHECK(t.power_cycles == 2);
  CHECK(t.host_bytes_written >= kCheckpointEveryPrograms * 16384);
}

TEST_CASE("an image without the lifetime section opens with the counters at zero", "[sdcard][lifetime]") {
  testing::ScratchDir dir("lifetime");
  const std::string path = dir.path("old.img");
  VirtualClock clock;
  {
    auto card = Card::create(path, testing::profile("class4"), 8 * MiB, clock);
    REQUIRE(card.is_ok());
    REQUIRE(testing::write(**card, 0, testing::pattern(0, 64, 1)).is_ok());
    REQUIRE((*card)->close().is_ok());
  }
  // What images made before the section hold there: zeros (both copies).
  const std::vector<char> zeros(64, 0);
  testing::poke_file(path, kLifetimeOffset, zeros);
  testing::poke_file(path, std::filesystem::file_size(path) - kHeaderBytes + kLifetimeOffset, zeros);
  {
    CardOptions ro;
    ro.read_only = true;
    auto card = Card::open(path, clock, ro);
    REQUIRE(card.is_ok());
    CHECK((*card)->lifetime() == Lifetime{});
  }
  auto card = Card::open(path, clock);
  REQUIRE(card.is_ok());
  CHECK((*card)->lifetime().power_cycles == 1);
  CHECK((*card)->lifetime().host_bytes_written == 0);
}

TEST_CASE("a damaged lifetime section restarts the counters and the card still opens", "[sdcard][lifetime]") {
  std::array<std::byte, kHeaderBytes> buf;
  ImageHeader h;
  h.geometry = *make_geometry(testing::profile("class10"), 16 * MiB);
  h.profile = "class10";
  h.lifetime.erases = 5;
  encode_header(h, buf);
  auto back = decode_header(buf);
  REQUIRE(back.is_ok());
  CHECK(back->lifetime == h.lifetime);
  CHECK_FALSE(back->lifetime_lost);
  buf[kLifetimeOffset + 10] ^= std::byte{1};
  back = decode_header(buf);
  REQUIRE(back.is_ok());
  CHECK(back->lifetime == Lifetime{});
  CHECK(back->lifetime_lost);
}

TEST_CASE("life time estimate follows eMMC's 10 % steps, pending erases counted", "[sdcard][health]") {
  CHECK(life_time_estimate(0.0) == 0x01);
  CHECK(life_time_estimate(0.0999) == 0x01);
  CHECK(life_time_estimate(0.1) == 0x02);
  CHECK(life_time_estimate(0.95) == 0x0A);
  CHECK(life_time_estimate(1.0) == 0x0B);
  CHECK(life_time_estimate(7.0) == 0x0B);
  CHECK(std::string(life_time_meaning(0x0B)) == "exceeded");

  const Profile& p = testing::profile("class10");  // 1000 cycles
  std::vector<AuState> aus(4);
  aus[0].erase_count = 500;
  aus[1].erase_count = 499;
  aus[1].role = "erasing";  // its 500th erase is pending
  aus[2].erase_count = 300;
  aus[3].erase_count = 700;
  const Health h = health_of(p, aus);
  CHECK(h.pending == 1);
  CHECK(h.erases == 1999);
  CHECK(h.mean_wear == Approx(0.5 * 1000));
  CHECK(h.max_wear == 700);
  CHECK(h.life_used == Approx(0.5));
  CHECK(h.life_time_est == 0x06);
}

TEST_CASE("every profile has an endurance rating with its source", "[sdcard][health]") {
  for (const Profile& p : profiles()) {
    INFO(p.name);
    CHECK(p.rated_pe_cycles >= 100);
    CHECK_FALSE(p.nand.empty());
    CHECK_FALSE(p.endurance_source.empty());
  }
  REQUIRE(find_profile("industrial-pslc").is_ok());
  CHECK((*find_profile("industrial-pslc"))->rated_pe_cycles >
        10 * (*find_profile("class10"))->rated_pe_cycles);
}

}  // namespace
}  // namespace cardfs::sdcard
