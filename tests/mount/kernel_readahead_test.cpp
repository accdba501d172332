#include "fusefs/fuse/kernel_readahead.h"

#include <catch2/catch.hpp>

using namespace cardfs::fuse;

namespace {
// Three mounts as /proc/self/mountinfo lists them; /mnt/card is mounted
// twice (the later mount hides the earlier), and one path has a space.
const char* kMountinfo =
    "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
    "40 22 0:40 / /mnt/card rw,nosuid,nodev,relatime shared:20 - fuse.cardfs /img rw,user_id=0\n"
    "41 22 0:41 / /mnt/my\\040card rw,relatime shared:21 - fuse.cardfs /img2 rw\n"
    "52 40 0:52 / /mnt/card rw,relatime shared:22 - fuse.cardfs /img3 rw\n";
}  // namespace

TEST_CASE("mount_device names the last mount on a path") {
  auto dev = mount_device(kMountinfo, "/mnt/card");
  REQUIRE(dev.is_ok());
  CHECK(*dev == "0:52");
  auto root = mount_device(kMountinfo, "/");
  REQUIRE(root.is_ok());
  CHECK(*root == "254:0");
}

TEST_CASE("mount_device decodes mountinfo's octal escapes") {
  auto dev = mount_device(kMountinfo, "/mnt/my card");
  REQUIRE(dev.is_ok());
  CHECK(*dev == "0:41");
  CHECK_FALSE(mount_device(kMountinfo, "/mnt/my\\040card").is_ok());
}

TEST_CASE("mount_device refuses a path with no mount and skips broken lines") {
  auto none = mount_device(std::string(kMountinfo) + "garbage\n", "/mnt/other");
  REQUIRE_FALSE(none.is_ok());
  CHECK(none.status().code() == ENOENT);
  CHECK_FALSE(mount_device("", "/").is_ok());
}
