// Multi-call dispatch: `mkfs.cardfs ARGS` behaves as `cardfs mkfs ARGS`,
// as e2fsprogs' mkfs.ext4 and mount(8)'s mount.TYPE helpers do.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cardfs::tools {

// The subcommand an argv[0] stands for: "/sbin/fsck.cardfs" -> "fsck".
// nullopt for "cardfs" itself or any other name.
std::optional<std::string> subcommand_for_program_name(std::string_view argv0);

// argv with the implied subcommand inserted after argv[0], when there is one.
std::vector<std::string> expand_multicall_args(const std::vector<std::string>& argv);

}  // namespace cardfs::tools
