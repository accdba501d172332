// Multi-call dispatch: `mkfs.cardfs ARGS` behaves as `cardfs mkfs ARGS`,
// as e2fsprogs' mkfs.ext4 and mount(8)'s mount.TYPE helpers do.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cardfs::tools {

// The subcommand an argv[0] stands for: "/sbin/fsck.cardfs" -> "fsck",
// "mount.cardfs" and "mount.fuse.cardfs" -> "mount".
// nullopt for "cardfs" itself or any other name.
std::optional<std::string> subcommand_for_program_name(std::string_view argv0);

// argv with the implied subcommand inserted after argv[0], when there is one:
// from the program name, or `mount` for mount.fuse3's `cardfs IMAGE DIR ...`
// (an existing file, then an existing directory).
std::vector<std::string> expand_multicall_args(const std::vector<std::string>& argv);

}  // namespace cardfs::tools
