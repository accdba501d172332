// The files of MOUNT/.cardfs/ for a mounted Stack (the layout is in
// docs/fuse.md). Writable tunables accept exactly what the mount option
// of the same name accepts, checked by the same parser.
#pragma once

#include <memory>
#include <string>

#include "fusefs/fuse/control.h"
#include "fusefs/fuse/stack.h"

namespace cardfs::fuse {

// The tree reads and changes `stack`, which must outlive it; `mountpoint`
// (absolute) is where it is mounted (trace files may not go there).
std::unique_ptr<ControlTree> make_control_tree(Stack& stack, uint64_t base_ino,
                                               const std::string& mountpoint);

}  // namespace cardfs::fuse
