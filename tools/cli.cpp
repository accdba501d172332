#include "tools/cli.h"

#include <cstdio>
#include <iostream>

#include "base/log.h"
#include "cardfs_version.h"
#include "tools/command.h"
#include "tools/program_name.h"

namespace cardfs::tools {

std::vector<Command>& command_registry() {
  static std::vector<Command> registry;
  return registry;
}

namespace {

spdlog::level::level_enum level_from_flags(int verbose, const std::string& name) {
  if (!name.empty()) return spdlog::level::from_str(name);
  if (verbose >= 2) return spdlog::level::debug;
  if (verbose == 1) return spdlog::level::info;
  return spdlog::level::warn;
}

bool has_subcommand(const CLI::App& app, const std::string& name) {
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    if (sub->get_name() == name) return true;
  return false;
}

// The deepest subcommand parsed so far and what the user typed to reach
// it: "mkfs.cardfs" (a multi-call name stands for its subcommand), "cardfs
// card info", "cardfs".
std::pair<const CLI::App*, std::string> typed_command(const CLI::App& app, const std::string& alias) {
  const CLI::App* cur = &app;
  std::string typed = alias.empty() ? app.get_name() : alias;
  for (bool implied = !alias.empty(); !cur->get_subcommands().empty(); implied = false) {
    cur = cur->get_subcommands().at(0);
    if (!implied) typed += " " + cur->get_name();
  }
  return {cur, typed};
}

// CLI11's help and errors, with the usage line and the messages naming the
// program as it was typed (CLI11 itself always says "cardfs mkfs").
int report_parse_end(const CLI::App& app, const CLI::Error& e, const std::string& alias) {
  auto [cmd, typed] = typed_command(app, alias);
  if (e.get_name() == "CallForHelp" || e.get_name() == "CallForAllHelp") {
    auto mode = e.get_name() == "CallForHelp" ? CLI::AppFormatMode::Normal : CLI::AppFormatMode::All;
    std::cout << cmd->get_formatter()->make_help(cmd, typed, mode);
    return e.get_exit_code();
  }
  if (e.get_name() == "CallForVersion") return app.exit(e);
  std::fprintf(stderr, "%s: %s\nRun '%s --help' for usage.\n", typed.c_str(), e.what(), typed.c_str());
  return kExitUsage;
}

}  // namespace

int run_cli(const std::vector<std::string>& raw_argv) {
  std::vector<std::string> argv = expand_multicall_args(raw_argv);
  const std::string argv0 = raw_argv.empty() ? "cardfs" : raw_argv[0];
  set_invocation(argv0);
  auto implied = subcommand_for_program_name(argv0);
  const std::string alias = implied ? argv0.substr(argv0.rfind('/') + 1) : "";
  // e2fsprogs' -V: every program, and a subcommand, prints its version and
  // exits whatever else is on the line (mke2fs -V, e2fsck -V).
  for (size_t i = 1; i < argv.size() && argv[i] != "--"; ++i) {
    if (argv[i] != "-V") continue;
    const std::string name = argv0.substr(argv0.rfind('/') + 1);
    if (name == "cardfs")
      std::printf("cardfs %s\n", CARDFS_VERSION);
    else
      std::printf("%s (cardfs) %s\n", name.c_str(), CARDFS_VERSION);
    return kExitOk;
  }

  CLI::App app{"cardfs: an SD card's whole storage stack in userspace", "cardfs"};
  app.set_version_flag("-V,--version", "cardfs " CARDFS_VERSION);
  int verbose = 0;
  std::string level;
  app.add_flag("-v,--verbose", verbose, "More log output (repeat for debug)");
  app.add_option("--log-level", level, "Log level: trace, debug, info, warn, error, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.require_subcommand(1);

  CommandContext ctx;
  for (auto& cmd : command_registry()) cmd.add(app, ctx);

  if (implied && !has_subcommand(app, *implied)) {
    std::fprintf(stderr, "%s: '%s' is not available in this build of cardfs\n", alias.c_str(),
                 implied->c_str());
    return kExitUsage;
  }
  // CLI11 reports a stray word vaguely; name it.
  for (size_t i = 1; i < argv.size(); ++i) {
    if (argv[i].empty() || argv[i][0] == '-') {
      if (argv[i] == "--log-level") ++i;
      continue;
    }
    if (!has_subcommand(app, argv[i])) {
      std::fprintf(stderr, "cardfs: unknown command '%s'\n", argv[i].c_str());
      std::fprintf(stderr, "Run 'cardfs --help' for usage.\n");
      return kExitUsage;
    }
    break;
  }

  // CLI11 wants argv in reverse order without the program name.
  std::vector<std::string> args(argv.rbegin(), argv.rend() - 1);
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {  // help and version too: CLI11 throws them
    return report_parse_end(app, e, alias);
  }
  set_log_level(level_from_flags(verbose, level));
  return ctx.run ? ctx.run() : kExitOk;
}

}  // namespace cardfs::tools
