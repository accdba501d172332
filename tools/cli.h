// The cardfs command line: builds the CLI11 app from the registered
// commands and runs it. Separate from main() so tests can drive it.
#pragma once

#include <string>
#include <vector>

namespace cardfs::tools {

// Exit codes of the cardfs binary itself (subcommands may define more).
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 2;

// Runs the command line argv (argv[0] included, multi-call names honoured).
// Prints help, version and errors; returns the process exit code.
int run_cli(const std::vector<std::string>& argv);

}  // namespace cardfs::tools
