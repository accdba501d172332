#include "base/mount_field.h"

#include <catch2/catch.hpp>

using cardfs::unescape_mount_field;

TEST_CASE("mount fields: octal escapes become the bytes they stand for", "[base][mount_field]") {
  CHECK(unescape_mount_field("/mnt/my\\040card") == "/mnt/my card");
  CHECK(unescape_mount_field("a\\011b\\012c\\134d") == "a\tb\nc\\d");
  CHECK(unescape_mount_field("/img/card.img") == "/img/card.img");
}

TEST_CASE("mount fields: a backslash without three octal digits stays", "[base][mount_field]") {
  CHECK(unescape_mount_field("a\\08b") == "a\\08b");   // 8 is not octal
  CHECK(unescape_mount_field("end\\04") == "end\\04");  // too short at the end
  CHECK(unescape_mount_field("end\\040") == "end ");    // exactly at the end
  CHECK(unescape_mount_field("\\") == "\\");
}
