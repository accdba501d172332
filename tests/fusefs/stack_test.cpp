// The filesystem over the real stack: an emulated card behind the request
// queue, formatted, written, closed, reopened and read back.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "sdcard/card.h"
#include "sdcard/geometry.h"
#include "sdcard/profiles.h"
#include "tests/fusefs/fs_fixture.h"
#include "tests/support/card_stack.h"
#include "tests/support/scratch_dir.h"

using namespace cardfs;
using namespace cardfs::fusefs;
using namespace cardfs::fusefs::testing;
using cardfs::testing::CardStack;

TEST_CASE("format, write and read back through card, queue and cache") {
  cardfs::testing::ScratchDir dir("fusefs-stack");
  const std::string image = dir.path("card.img");
  VirtualClock clock;
  auto profile = sdcard::find_profile("class10");
  REQUIRE(profile.is_ok());
  const std::string payload(300000, 'k');
  {
    auto card = sdcard::Card::create(image, **profile, 64ull << 20, clock);
    REQUIRE(card.is_ok());
    CardStack s(std::move(*card), clock);
    FormatOptions o;
    o.au_size = uint32_t(s.card->geometry().au_bytes());
    REQUIRE(format(*s.cache, s.card->sector_count() * 512, o).is_ok());
    auto sb = read_superblock(*s.queue);
    REQUIRE(sb.is_ok());
    auto fs = Filesystem::mount(*s.cache, clock, sb->block_size());
    REQUIRE(fs.is_ok());
    s.fs = std::move(*fs);
    auto f = s.fs->mknod(kRootIno, "data", S_IFREG | 0644, 0, {});
    REQUIRE(f.is_ok());
    REQUIRE(s.fs->write(f->ino, 0, bytes_of(payload)).is_ok());
    REQUIRE(s.fs->fsync(f->ino, false).is_ok());
    REQUIRE(s.fs->unmount().is_ok());
    s.queue->wait_idle();
    REQUIRE(s.card->close().is_ok());
  }
  {
    auto card = sdcard::Card::open(image, clock);
    REQUIRE(card.is_ok());
    CardStack s(std::move(*card), clock);
    auto fs = Filesystem::mount(*s.cache, clock, 4096);
    REQUIRE(fs.is_ok());
    s.fs = std::move(*fs);
    auto f = s.fs->lookup(kRootIno, "data");
    REQUIRE(f.is_ok());
    std::vector<std::byte> buf(payload.size());
    auto n = s.fs->read(f->ino, 0, buf);
    REQUIRE(n.is_ok());
    CHECK(string_of(std::span(buf).first(*n)) == payload);
    CHECK(s.fs->superblock().au_size == s.card->geometry().au_bytes());
    CHECK(s.fs->check_free_counts().is_ok());
    REQUIRE(s.fs->unmount().is_ok());
    s.queue->wait_idle();
    REQUIRE(s.card->close().is_ok());
  }
}
