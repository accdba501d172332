// Card damage that had no way back (issue 15, item 5): a damaged header is
// read from its backup copy and rewritten, a clean image with no valid
// checkpoint gets its map rebuilt from the out-of-band scan by repair, an
// image a few bytes short is extended back; version 1 images (no backup
// header) still open.
#include <catch2/catch.hpp>

#include <array>
#include <filesystem>

#include "base/clock.h"
#include "sdcard/card.h"
#include "sdcard/image_format.h"
#include "tests/sdcard/card_fixture.h"

namespace cardfs::sdcard {
namespace {

constexpr uint64_t MiB = 1 << 20;


// An 8 MiB class10 card holding tag 3 in its first 4096 sectors, closed.
std::string make_image(const testing::ScratchDir& dir) {
  VirtualClock clock;
  const std::string path = dir.path("c.img");
  auto card = Card::create(path, testing::profile("class10"), 8 * MiB, clock);
  REQUIRE(card.is_ok());
  REQUIRE(testing::write(**card, 0, testing::pattern(0, 4096, 3)).is_ok());
  REQUIRE((*card)->close().is_ok());
  return path;
}

bool primary_header_ok(const std::string& path) {
  const std::vector<char> raw = testing::file_bytes(path, 0, kHeaderBytes);
  return decode_header(std::as_bytes(std::span(raw))).is_ok();
}

uint64_t intact_sectors_missing(const std::string& path, CardOptions o = {}) {
  VirtualClock clock;
  auto card = Card::open(path, clock, o);
  if (!card.is_ok()) return 4096;
  return testing::untagged_sectors(**card, 0, 4096, 3);
}

TEST_CASE("16 damaged bytes in the header: its backup opens the card and the primary is rewritten (was unmountable)",
          "[sdcard][repair]") {
  testing::ScratchDir dir("repair-header");
  const std::string path = make_image(dir);
  testing::poke_file(path, 12, std::vector<char>(16, '\x77'));
  REQUIRE_FALSE(primary_header_ok(path));
  CardOptions ro;
  ro.read_only = true;
  CHECK(intact_sectors_missing(path, ro) == 0);  // read-only: opens, changes nothing
  CHECK_FALSE(primary_header_ok(path));
  CHECK(intact_sectors_missing(path) == 0);  // read-write: the header is written back
  CHECK(primary_header_ok(path));
}

TEST_CASE("a clean image whose checkpoint slots are both damaged is repaired from the OOB scan (was unrecoverable)",
          "[sdcard][repair]") {
  testing::ScratchDir dir("repair-ckpt");
  const std::string path = make_image(dir);
  const ImageLayout l = layout_for(*make_geometry(testing::profile("class10"), 8 * MiB));
  testing::poke_file(path, l.checkpoint_offset[0] + 40, {'\x01', '\x02'});
  testing::poke_file(path, l.checkpoint_offset[1] + 40, {'\x01', '\x02'});
  VirtualClock clock;
  auto refused = Card::open(path, clock);
  REQUIRE_FALSE(refused.is_ok());
  CHECK(refused.status().message().find("card repair") != std::string::npos);
  auto done = Card::repair(path, clock);
  REQUIRE(done.is_ok());
  REQUIRE(done->size() == 1);
  CHECK((*done)[0].find("rebuilt from the out-of-band records") != std::string::npos);
  CHECK(intact_sectors_missing(path) == 0);
  auto again = Card::repair(path, clock);
  REQUIRE(again.is_ok());
  CHECK(again->empty());  // nothing left to repair
}

TEST_CASE("an image a few bytes short of its size is extended back by repair", "[sdcard][repair]") {
  testing::ScratchDir dir("repair-short");
  const std::string path = make_image(dir);
  const uint64_t size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size - 100);
  VirtualClock clock;
  auto refused = Card::open(path, clock);
  REQUIRE_FALSE(refused.is_ok());
  CHECK(refused.status().message().find("truncated image") != std::string::npos);
  auto done = Card::repair(path, clock);
  REQUIRE(done.is_ok());
  REQUIRE_FALSE(done->empty());
  CHECK((*done)[0].find("100 bytes short") != std::string::npos);
  CHECK(std::filesystem::file_size(path) == size);
  CHECK(intact_sectors_missing(path) == 0);
}

TEST_CASE("a version 1 image (no backup header) still opens and stays version 1", "[sdcard][repair]") {
  testing::ScratchDir dir("repair-v1");
  const std::string path = make_image(dir);
  // What an image made before the backup looked like: no last 4 KiB, version 1.
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - kHeaderBytes);
  REQUIRE(testing::set_header_version(path, kImageVersionNoBackup, false));
  const uint64_t size = std::filesystem::file_size(path);
  CHECK(intact_sectors_missing(path) == 0);
  CHECK(std::filesystem::file_size(path) == size);
  const std::vector<char> after = testing::file_bytes(path, 0, kHeaderBytes);
  auto reread = decode_header(std::as_bytes(std::span(after)));
  REQUIRE(reread.is_ok());
  CHECK(reread->version == kImageVersionNoBackup);
}

TEST_CASE("a header damaged with its backup is refused by repair, image unchanged", "[sdcard][repair]") {
  testing::ScratchDir dir("repair-both");
  const std::string path = make_image(dir);
  const uint64_t size = std::filesystem::file_size(path);
  testing::poke_file(path, 12, std::vector<char>(16, '\x77'));
  testing::poke_file(path, size - kHeaderBytes + 12, std::vector<char>(16, '\x77'));
  VirtualClock clock;
  auto done = Card::repair(path, clock);
  REQUIRE_FALSE(done.is_ok());
  CHECK(done.status().message().find("header checksum mismatch") != std::string::npos);
}

}  // namespace
}  // namespace cardfs::sdcard
