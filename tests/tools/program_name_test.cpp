#include "tools/program_name.h"

#include <catch2/catch.hpp>

using namespace cardfs::tools;

TEST_CASE("argv[0] names map to subcommands as mkfs(8)/fsck(8)/mount(8) expect") {
  CHECK(subcommand_for_program_name("mkfs.cardfs") == "mkfs");
  CHECK(subcommand_for_program_name("/sbin/fsck.cardfs") == "fsck");
  CHECK(subcommand_for_program_name("./build/mount.cardfs") == "mount");
  CHECK_FALSE(subcommand_for_program_name("cardfs"));
  CHECK_FALSE(subcommand_for_program_name("/usr/bin/cardfs"));
  CHECK_FALSE(subcommand_for_program_name("evil.cardfs"));
  CHECK_FALSE(subcommand_for_program_name(".cardfs"));
  CHECK_FALSE(subcommand_for_program_name("mkfs.cardfs.bak"));
}

TEST_CASE("multi-call names insert the implied subcommand") {
  std::vector<std::string> argv = {"/sbin/mkfs.cardfs", "-F", "img"};
  CHECK(expand_multicall_args(argv) ==
        std::vector<std::string>{"/sbin/mkfs.cardfs", "mkfs", "-F", "img"});
  std::vector<std::string> plain = {"cardfs", "card", "info"};
  CHECK(expand_multicall_args(plain) == plain);
}

TEST_CASE("umount of a fuse.cardfs mount: umount.fuse.cardfs means umount (returned before the data was written)") {
  CHECK(subcommand_for_program_name("/sbin/umount.fuse.cardfs") == "umount");
  CHECK(subcommand_for_program_name("umount.cardfs") == "umount");
  CHECK(expand_multicall_args({"umount.fuse.cardfs", "/mnt/x", "-n"}) ==
        std::vector<std::string>{"umount.fuse.cardfs", "umount", "/mnt/x", "-n"});
}

TEST_CASE("mount -t fuse.cardfs: the helper name and mount.fuse3's call both mean mount") {
  CHECK(subcommand_for_program_name("/sbin/mount.fuse.cardfs") == "mount");
  CHECK_FALSE(subcommand_for_program_name("mount.fuse"));
  // mount.fuse3 runs `cardfs IMAGE DIR -o OPTS`: a file, then a directory.
  const std::string file = "/proc/self/status", dir = "/tmp";
  CHECK(expand_multicall_args({"cardfs", file, dir, "-o", "ro"}) ==
        std::vector<std::string>{"cardfs", "mount", file, dir, "-o", "ro"});
  const std::vector<std::string> not_a_dir = {"cardfs", file, file};
  CHECK(expand_multicall_args(not_a_dir) == not_a_dir);
  const std::vector<std::string> missing = {"cardfs", "/nonexistent/img", dir};
  CHECK(expand_multicall_args(missing) == missing);
  const std::vector<std::string> subcommand = {"cardfs", "mount", file, dir};
  CHECK(expand_multicall_args(subcommand) == subcommand);
}
