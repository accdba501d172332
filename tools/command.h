// How a subcommand of the multi-call `cardfs` binary registers itself.
//
// Each tools/cmd_*.cpp defines a function that adds its subcommand to the
// CLI11 app and registers it with CARDFS_REGISTER_COMMAND. The subcommand's
// CLI11 callback only stores the work to do in ctx.run; run_cli() calls it
// after parsing, once logging is set up, and returns its exit code (a
// Status is turned into a message and an exit code there, not by throwing).
// Registration runs at
// static-initialisation time, so these files are compiled into the
// executable itself (not a static library, which would drop them).
#pragma once

#include <CLI/CLI.hpp>

#include "base/parse.h"
#include "base/status.h"

#include <functional>
#include <string>
#include <vector>

namespace cardfs::tools {

struct CommandContext {
  std::function<int()> run;  // set by the chosen subcommand's callback
};

struct Command {
  std::string name;  // "mkfs", "card", ...
  // Adds the subcommand to `app`; its callback sets ctx.run.
  std::function<void(CLI::App& app, CommandContext& ctx)> add;
};

// All registered commands, in registration order.
std::vector<Command>& command_registry();

struct CommandRegistration {
  explicit CommandRegistration(Command c) { command_registry().push_back(std::move(c)); }
};

// CLI11 validators over base/parse.h's grammar, so a bad value is a usage
// error (exit 2) at parse time, with the same message everywhere.
inline const CLI::Validator kSize{[](std::string& text) {
                                    auto v = parse_size(text);
                                    return v.is_ok() ? std::string() : v.status().message();
                                  },
                                  "SIZE", "size"};

#define CARDFS_REGISTER_COMMAND(name, fn) \
  static const ::cardfs::tools::CommandRegistration CARDFS_CONCAT(_cmd_reg_, __LINE__){{name, fn}}

}  // namespace cardfs::tools
