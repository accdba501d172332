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
