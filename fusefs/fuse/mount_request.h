// MountRequest: everything `cardfs mount` checked before it mounts, so
// that each mistake is a one-line error and nothing is mounted.
//
// prepare_mount() parses the options, makes both paths absolute (the
// daemon changes directory to "/") and checks that the image is a regular
// file and the mount point a directory. It touches nothing.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "fusefs/fuse/mount_options.h"

namespace cardfs::fuse {

struct MountRequest {
  std::string image;       // absolute
  std::string mountpoint;  // absolute
  MountOptions options;
  bool foreground = false;
  bool debug = false;  // libfuse's request log (-d), implies foreground
};

Result<MountRequest> prepare_mount(const std::string& image, const std::string& mountpoint,
                                   const std::vector<std::string>& option_args);

}  // namespace cardfs::fuse
