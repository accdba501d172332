// Open handles belong to the FuseFs: a session that ends with files still
// open (a power cut written to .cardfs/, a signal) used to leave their
// OpenFile behind (LeakSanitizer, mount.powercut under ASan).
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "fusefs/mkfs.h"
#include "fusefs/fuse/fuse_fs.h"
#include "sdcard/card.h"
#include "sdcard/page_store.h"
#include "sdcard/profiles.h"
#include "tests/support/card_stack.h"

using namespace cardfs;

TEST_CASE("handles still open when the FuseFs goes are freed with it - RELEASE frees one") {
  VirtualClock clock;
  auto profile = sdcard::find_profile("class10");
  REQUIRE(profile.is_ok());
  auto card = sdcard::Card::create(sdcard::none_store(), **profile, 64ull << 20, clock);
  REQUIRE(card.is_ok());
  testing::CardStack s(std::move(*card), clock);
  fusefs::FormatOptions o;
  o.au_size = uint32_t(s.card->geometry().au_bytes());
  REQUIRE(fusefs::format(*s.cache, s.card->sector_count() * 512, o).is_ok());
  auto fs = fusefs::Filesystem::mount(*s.cache, clock, 4096);
  REQUIRE(fs.is_ok());
  s.fs = std::move(*fs);
  fuse::ControlTree control(fuse::kControlInoBase);

  std::weak_ptr<const std::string> kept, released;
  {
    fuse::FuseFs self(*s.fs, control, fuse::MountOptions{});
    auto handle = [&](std::weak_ptr<const std::string>& watch) {
      auto of = std::make_unique<fuse::OpenFile>();
      of->control_data = std::make_shared<const std::string>("snapshot");
      watch = of->control_data;
      fuse_file_info fi{};
      self.adopt_handle(std::move(of), &fi);
      CHECK(fuse::open_file(&fi)->control_data->size() == 8);
      return fi;
    };
    fuse_file_info a = handle(kept);
    fuse_file_info b = handle(released);
    CHECK(a.fh != b.fh);
    CHECK(self.open_handles() == 2);
    self.drop_handle(&b);
    CHECK(released.expired());
    CHECK_FALSE(kept.expired());
    self.drop_handle(&b);  // a second drop of the same handle does nothing
    CHECK(self.open_handles() == 1);
  }
  CHECK(kept.expired());
  REQUIRE(s.fs->unmount().is_ok());
}
