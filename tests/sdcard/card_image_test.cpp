// Bad images get a clear error, never a crash, and are never modified by
// a failed open.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "base/clock.h"
#include "sdcard/card.h"
#include "sdcard/geometry.h"
#include "sdcard/image_format.h"
#include "tests/sdcard/card_fixture.h"

namespace cardfs::sdcard {
namespace {

constexpr uint64_t MiB = 1 << 20;

std::vector<char> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void poke(const std::string& path, uint64_t offset, const std::vector<char>& bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(std::streamoff(offset));
  f.write(bytes.data(), std::streamsize(bytes.size()));
}

// Opens path, expecting failure with `words` in the message and the file
// unchanged.
void expect_refused(const std::string& path, const std::string& words) {
  VirtualClock clock;
  const std::vector<char> before = slurp(path);
  auto card = Card::open(path, clock);
  REQUIRE_FALSE(card.is_ok());
  INFO(card.status().to_string());
  CHECK(card.status().message().find(words) != std::string::npos);
  CHECK(card.status().message().find('\n') == std::string::npos);
  CHECK(slurp(path) == before);
}

std::string make_image(const testing::ScratchDir& dir, const std::string& name) {
  VirtualClock clock;
  const std::string path = dir.path(name);
  auto card = Card::create(path, testing::profile("class10"), 8 * MiB, clock);
  REQUIRE(card.is_ok());
  REQUIRE(testing::write(**card, 0, testing::pattern(0, 4096, 3)).is_ok());
  REQUIRE((*card)->close().is_ok());
  return path;
}

TEST_CASE("missing, foreign, truncated and corrupt images are refused", "[sdcard][image]") {
  testing::ScratchDir dir("image");
  VirtualClock clock;
  auto missing = Card::open(dir.path("nope.img"), clock);
  REQUIRE_FALSE(missing.is_ok());
  CHECK(missing.status().code() == ENOENT);

  // The header and its backup copy (the last 4 KiB) both damaged; one
  // alone is recovered (card_repair_test.cpp).
  auto backup = [](const std::string& p) { return std::filesystem::file_size(p) - kHeaderBytes; };
  std::string path = make_image(dir, "magic.img");
  poke(path, 0, {'N', 'O', 'T', 'A', 'C', 'A', 'R', 'D'});
  poke(path, backup(path), {'N', 'O', 'T', 'A', 'C', 'A', 'R', 'D'});
  expect_refused(path, "bad magic");

  path = make_image(dir, "crc.img");
  poke(path, 20, {'\x7f'});
  poke(path, backup(path) + 20, {'\x7f'});
  expect_refused(path, "checksum");

  path = make_image(dir, "short.img");
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  expect_refused(path, "truncated image");

  path = make_image(dir, "tiny.img");
  std::filesystem::resize_file(path, 100);
  expect_refused(path, "truncated");

  path = make_image(dir, "empty.img");
  std::filesystem::resize_file(path, 0);
  expect_refused(path, "truncated");
}

TEST_CASE("an image naming an unknown profile is refused", "[sdcard][image]") {
  testing::ScratchDir dir("profile");
  const std::string path = make_image(dir, "c.img");
  std::vector<char> raw = slurp(path);
  auto header = decode_header(std::as_bytes(std::span(raw.data(), kHeaderBytes)));
  REQUIRE(header.is_ok());
  header->profile = "class99";
  std::array<std::byte, kHeaderBytes> buf;
  encode_header(*header, buf);
  poke(path, 0, std::vector<char>(reinterpret_cast<char*>(buf.data()), reinterpret_cast<char*>(buf.data()) + buf.size()));
  expect_refused(path, "unknown profile 'class99'");
}

TEST_CASE("a clean image without a valid checkpoint is refused", "[sdcard][image]") {
  testing::ScratchDir dir("ckpt");
  const std::string path = make_image(dir, "c.img");
  const ImageLayout l = layout_for(*make_geometry(testing::profile("class10"), 8 * MiB));
  poke(path, l.checkpoint_offset[0] + 40, {'\x01', '\x02'});
  poke(path, l.checkpoint_offset[1] + 40, {'\x01', '\x02'});
  expect_refused(path, "no valid checkpoint");
}

TEST_CASE("a new image's checkpoint slots are holes but for the first checkpoint's non-zero blocks",
          "[sdcard][image]") {
  // Both slots of a 64 GiB card are 33 MiB; writing them whole (zeros
  // included) and syncing was most of a large card's create.
  testing::ScratchDir dir("sparse_ckpt");
  const std::string path = dir.path("c.img");
  VirtualClock clock;
  auto card = Card::create(path, testing::profile("class10"), 2048 * MiB, clock);
  REQUIRE(card.is_ok());
  const ImageLayout l = layout_for((*card)->geometry());
  REQUIRE(l.checkpoint_slot_bytes >= MiB);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK(uint64_t(st.st_blocks) * 512 < 64 * 1024);
  REQUIRE((*card)->close().is_ok());
  card = Card::open(path, clock);
  REQUIRE(card.is_ok());
  CHECK((*card)->opened_clean());
}

TEST_CASE("an open decodes the newer checkpoint, or the older one when the newer payload is damaged", "[sdcard][image]") {
  testing::ScratchDir dir("newer");
  const std::string path = make_image(dir, "c.img");  // checkpoint 2 (slot 0) after create's 1 (slot 1)
  const ImageLayout l = layout_for(*make_geometry(testing::profile("class10"), 8 * MiB));
  // The older slot's payload damaged: never decoded, no warning needed.
  poke(path, l.checkpoint_offset[1] + 4096, {'\x5a'});
  VirtualClock clock;
  CardOptions read_only;
  read_only.read_only = true;
  {
    auto card = Card::open(path, clock, read_only);
    REQUIRE(card.is_ok());
    CHECK(testing::untagged_sectors(**card, 0, 4096, 3) == 0);
  }
  // The newer's payload damaged: the older checkpoint (the create's, an
  // empty card) with the scan finds the data all the same.
  poke(path, l.checkpoint_offset[1] + 4096, {'\0'});
  poke(path, l.checkpoint_offset[0] + 4096, {'\x5a'});
  auto card = Card::open(path, clock, read_only);
  REQUIRE(card.is_ok());
  CHECK(testing::untagged_sectors(**card, 0, 4096, 3) == 0);
}

TEST_CASE("random damage to the metadata never crashes the open", "[sdcard][image]") {
  testing::ScratchDir dir("fuzz");
  const std::string pristine = make_image(dir, "pristine.img");
  const Geometry g = *make_geometry(testing::profile("class10"), 8 * MiB);
  const ImageLayout l = layout_for(g);
  std::mt19937_64 rng(99);
  for (int round = 0; round < 40; ++round) {
    INFO("round " << round << " (seed 99)");
    const std::string path = dir.path("f.img");
    std::filesystem::copy_file(pristine, path, std::filesystem::copy_options::overwrite_existing);
    for (int k = 0; k < 8; ++k) {
      // Damage the header, a checkpoint or the OOB region.
      const uint64_t off = rng() % (l.flash_offset);
      poke(path, off, {char(rng())});
    }
    VirtualClock clock;
    auto card = Card::open(path, clock);
    if (card.is_ok()) {
      // A damaged OOB record makes its page unreadable (EIO), as a card's
      // ECC would; nothing else may fail.
      auto data = testing::read(**card, 0, 4096);
      CHECK((data.is_ok() || data.status().code() == EIO));
    } else {
      CHECK_FALSE(card.status().message().empty());
    }
  }
}

TEST_CASE("a read-only open leaves the image untouched", "[sdcard][image]") {
  testing::ScratchDir dir("ro");
  const std::string path = make_image(dir, "c.img");
  const std::vector<char> before = slurp(path);
  VirtualClock clock;
  CardOptions opts;
  opts.read_only = true;
  {
    auto card = Card::open(path, clock, opts);
    REQUIRE(card.is_ok());
    auto data = testing::read(**card, 0, 8);
    REQUIRE(data.is_ok());
    CHECK(testing::tag_of(data->data(), 0) == 3);
    CHECK(testing::write(**card, 0, testing::pattern(0, 8, 4)).code() == EROFS);
  }
  CHECK(slurp(path) == before);
}

// The mount opens the card once, looks at the filesystem with its writes
// held, and only then lets it change the image (issue 23: one power-on
// scan instead of two).
TEST_CASE("a card opened with its writes held changes the image only after begin_writes", "[sdcard][image]") {
  testing::ScratchDir dir("held");
  const std::string path = make_image(dir, "c.img");
  const std::vector<char> before = slurp(path);
  VirtualClock clock;
  CardOptions opts;
  opts.hold_writes = true;
  uint64_t cycles = 0;
  {
    auto card = Card::open(path, clock, opts);
    REQUIRE(card.is_ok());
    cycles = (*card)->lifetime().power_cycles;
    auto data = testing::read(**card, 0, 8);
    REQUIRE(data.is_ok());
    CHECK(testing::tag_of(data->data(), 0) == 3);
    CHECK(testing::write(**card, 0, testing::pattern(0, 8, 4)).code() == EROFS);
    CHECK((*card)->discard(0, 8).code() == EROFS);
    CHECK((*card)->flush().is_ok());
    CHECK((*card)->close().is_ok());
  }
  CHECK(slurp(path) == before);
  {
    auto card = Card::open(path, clock, opts);
    REQUIRE(card.is_ok());
    REQUIRE(testing::read(**card, 0, 8).is_ok());
    REQUIRE((*card)->begin_writes().is_ok());
    REQUIRE((*card)->begin_writes().is_ok());  // idempotent
    CHECK((*card)->lifetime().power_cycles == cycles + 1);
    // The look's reads are not counted: a command log from here numbers
    // its commands from 1, as a replay of it does.
    CHECK((*card)->counters().commands == 0);
    CHECK((*card)->counters().host_sectors_read == 0);
    REQUIRE(testing::write(**card, 0, testing::pattern(0, 8, 4)).is_ok());
    REQUIRE((*card)->close().is_ok());
  }
  CHECK(slurp(path) != before);
  auto card = Card::open(path, clock);
  REQUIRE(card.is_ok());
  auto data = testing::read(**card, 0, 8);
  REQUIRE(data.is_ok());
  CHECK(testing::tag_of(data->data(), 0) == 4);
}

TEST_CASE("an injected read error fails the read with EIO", "[sdcard][faults]") {
  testing::ScratchDir dir("readerr");
  const std::string path = make_image(dir, "c.img");
  VirtualClock clock;
  auto card = Card::open(path, clock);
  REQUIRE(card.is_ok());
  FaultPlan faults;
  faults.read_error_sectors = {17};
  (*card)->set_faults(faults);
  CHECK(testing::read(**card, 10, 4).is_ok());
  CHECK(testing::read(**card, 16, 4).status().code() == EIO);
}

}  // namespace
}  // namespace cardfs::sdcard
