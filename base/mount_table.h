// The system's mount table, read through libmount (util-linux), which
// knows both formats (/proc/self/mountinfo and /proc/mounts) and their
// octal escapes (\040 for a space in a path).
//
// Contract
// - parse_mount_table() reads a table's text; lines libmount cannot parse
//   are skipped. read_mount_table() reads a file (the default: this
//   process's mountinfo). Both list the mounts in the file's order, so the
//   last entry on a path is the one the kernel sees.
// - devno is "major:minor" for mountinfo entries, "" for /proc/mounts ones.
// Thread-safety: no shared state.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace cardfs {

struct MountEntry {
  std::string source;  // "/img/card.img", "/dev/vda", "cardfs"
  std::string target;  // the mount point
  std::string fstype;  // "fuse.cardfs"
  std::string devno;   // "0:52"
};

Result<std::vector<MountEntry>> parse_mount_table(std::string_view text);
Result<std::vector<MountEntry>> read_mount_table(const std::string& path = "/proc/self/mountinfo");

}  // namespace cardfs
