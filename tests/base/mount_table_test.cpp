#include "base/mount_table.h"

#include <catch2/catch.hpp>

using cardfs::parse_mount_table;

TEST_CASE("mount table: mountinfo lines with their devices, escapes decoded", "[base][mount_table]") {
  auto t = parse_mount_table(
      "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
      "41 22 0:41 / /mnt/my\\040card rw,relatime shared:21 - fuse.cardfs /img/a\\011b rw\n");
  REQUIRE(t.is_ok());
  REQUIRE(t->size() == 2);
  CHECK((*t)[0].target == "/");
  CHECK((*t)[0].devno == "254:0");
  CHECK((*t)[1].target == "/mnt/my card");
  CHECK((*t)[1].source == "/img/a\tb");
  CHECK((*t)[1].fstype == "fuse.cardfs");
  CHECK((*t)[1].devno == "0:41");
}

TEST_CASE("mount table: /proc/mounts lines", "[base][mount_table]") {
  auto t = parse_mount_table("/img/my\\040card.img /mnt/c fuse.cardfs rw,nosuid 0 0\n"
                             "proc /proc proc rw 0 0\n");
  REQUIRE(t.is_ok());
  REQUIRE(t->size() == 2);
  CHECK((*t)[0].source == "/img/my card.img");
  CHECK((*t)[0].target == "/mnt/c");
  CHECK((*t)[1].source == "proc");
}

TEST_CASE("mount table: empty text and this process's own table", "[base][mount_table]") {
  auto none = parse_mount_table("");
  REQUIRE(none.is_ok());
  CHECK(none->empty());
  auto mine = cardfs::read_mount_table();
  REQUIRE(mine.is_ok());
  CHECK(!mine->empty());  // at least the root
  CHECK(cardfs::read_mount_table("/nonexistent/mountinfo").status().code() == ENOENT);
}
