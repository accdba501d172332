// The filesystem over the real stack: an emulated card behind the request
// queue, formatted, written, closed, reopened and read back.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "blockdev/queue.h"
#include "blockdev/sdcard_driver.h"
#include "sdcard/card.h"
#include "sdcard/geometry.h"
#include "sdcard/profiles.h"
#include "tests/fusefs/fs_fixture.h"
#include "tests/support/scratch_dir.h"

using namespace cardfs;
using namespace cardfs::fusefs;
using namespace cardfs::fusefs::testing;

namespace {

struct Stack {
  explicit Stack(sdcard::Card& card, Clock& clock)
      : driver(card), queue(driver, clock) {}
  blockdev::SdcardDriver driver;
  blockdev::Queue queue;
};

}  // namespace

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
    Stack s(**card, clock);
    cache::PageCache cache(s.queue, clock, 4096);
    FormatOptions o;
    o.au_size = uint32_t((*card)->geometry().au_bytes());
    REQUIRE(format(cache, (*card)->sector_count() * 512, o).is_ok());
    auto sb = read_superblock(s.queue);
    REQUIRE(sb.is_ok());
    auto fs = Filesystem::mount(cache, clock, sb->block_size());
    REQUIRE(fs.is_ok());
    auto f = (*fs)->mknod(kRootIno, "data", S_IFREG | 0644, 0, {});
    REQUIRE(f.is_ok());
    REQUIRE((*fs)->write(f->ino, 0, bytes_of(payload)).is_ok());
    REQUIRE((*fs)->fsync(f->ino, false).is_ok());
    REQUIRE((*fs)->unmount().is_ok());
    s.queue.wait_idle();
    REQUIRE((*card)->close().is_ok());
  }
  {
    auto card = sdcard::Card::open(image, clock);
    REQUIRE(card.is_ok());
    Stack s(**card, clock);
    cache::PageCache cache(s.queue, clock, 4096);
    auto fs = Filesystem::mount(cache, clock, 4096);
    REQUIRE(fs.is_ok());
    auto f = (*fs)->lookup(kRootIno, "data");
    REQUIRE(f.is_ok());
    std::vector<std::byte> buf(payload.size());
    auto n = (*fs)->read(f->ino, 0, buf);
    REQUIRE(n.is_ok());
    CHECK(string_of(std::span(buf).first(*n)) == payload);
    CHECK((*fs)->superblock().au_size == (*card)->geometry().au_bytes());
    CHECK((*fs)->check_free_counts().is_ok());
    REQUIRE((*fs)->unmount().is_ok());
    s.queue.wait_idle();
    REQUIRE((*card)->close().is_ok());
  }
}
