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

// The name the user typed for subcommand `sub`, for messages and usage
// lines, as e2fsprogs' programs name themselves by argv[0]: the multi-call
// name when the binary ran as one for `sub` ("mkfs.cardfs"), else
// "cardfs SUB". run_cli records argv[0] (set_invocation) before parsing;
// it is the process's own name, set once, like glibc's
// program_invocation_short_name.
std::string invoked_as(std::string_view sub);
void set_invocation(std::string_view argv0);

}  // namespace cardfs::tools
