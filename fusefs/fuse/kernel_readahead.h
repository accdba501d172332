// The kernel's readahead window for a FUSE mount (its backing_dev_info),
// which bounds how large the READs the kernel sends for a sequential reader
// are: 128 KiB by default, whatever max_pages the connection allows.
//
// Contract
// - mount_device() finds the device number ("0:52") of the mount at
//   `mountpoint` in a /proc/self/mountinfo text (the last such mount wins,
//   as in the kernel's view); NotFound-style ENOENT when none matches. Pure.
// - resolve_mountpoint() is realpath(3); call it before mounting (after,
//   resolving the path would ask the not yet served mount itself).
// - set_kernel_read_ahead() writes `kb` to
//   /sys/class/bdi/<dev>/read_ahead_kb for the mount at the resolved
//   `path`, found in /proc/self/mountinfo (no request to the mount, so the
//   daemon may call it before it serves). Writing there needs root: the
//   caller treats a failure as a missed speed-up, not an error.
// Thread-safety: no shared state.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"

namespace cardfs::fuse {

Result<std::string> mount_device(const std::string& mountinfo, const std::string& mountpoint);

Result<std::string> resolve_mountpoint(const std::string& mountpoint);

Status set_kernel_read_ahead(const std::string& path, uint32_t kb);

}  // namespace cardfs::fuse
