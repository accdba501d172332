#include "tools/cli.h"

#include <catch2/catch.hpp>

#include "tools/command.h"

using namespace cardfs::tools;

namespace {
// A test-only command: proves registration, option parsing and dispatch.
int g_echo_value = -1;
void add_echo(CLI::App& app, CommandContext& ctx) {
  auto* sub = app.add_subcommand("echo-test", "test command");
  auto value = std::make_shared<int>(0);
  sub->add_option("value", *value)->required();
  sub->callback([&ctx, value] {
    ctx.run = [value] {
      g_echo_value = *value;
      return *value == 0 ? 0 : 3;
    };
  });
}
CARDFS_REGISTER_COMMAND("echo-test", add_echo);

// A stand-in for mkfs, reached through the mkfs.cardfs program name.
int g_mkfs_value = -1;
void add_mkfs(CLI::App& app, CommandContext& ctx) {
  auto* sub = app.add_subcommand("mkfs", "test stand-in");
  auto value = std::make_shared<int>(0);
  sub->add_option("value", *value)->required();
  sub->callback([&ctx, value] { ctx.run = [value] { return g_mkfs_value = *value, 0; }; });
}
CARDFS_REGISTER_COMMAND("mkfs", add_mkfs);
}  // namespace

TEST_CASE("registered subcommands run and return their exit code") {
  CHECK(run_cli({"cardfs", "echo-test", "0"}) == 0);
  CHECK(g_echo_value == 0);
  CHECK(run_cli({"cardfs", "echo-test", "5"}) == 3);
  CHECK(g_echo_value == 5);
}

TEST_CASE("bad usage exits 2 without throwing") {
  CHECK(run_cli({"cardfs", "bogus"}) == kExitUsage);
  CHECK(run_cli({"cardfs"}) == kExitUsage);
  CHECK(run_cli({"cardfs", "echo-test", "notanumber"}) == kExitUsage);
  CHECK(run_cli({"cardfs", "--log-level", "loud", "echo-test", "1"}) == kExitUsage);
}

TEST_CASE("a multi-call name runs its command, or is a usage error when the binary lacks it") {
  // This test binary registers echo-test and a stand-in mkfs, never fsck.
  bool has_fsck = false;
  for (auto& c : command_registry()) has_fsck |= c.name == "fsck";
  REQUIRE_FALSE(has_fsck);
  CHECK(run_cli({"fsck.cardfs", "x"}) == kExitUsage);
  g_mkfs_value = -1;
  CHECK(run_cli({"/sbin/mkfs.cardfs", "7"}) == 0);
  CHECK(g_mkfs_value == 7);
}
