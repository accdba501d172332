// serve_mount: the life of a cardfs daemon, from the image to unmount.
//
// Opens the stack (refusing, image untouched, what cannot be mounted),
// mounts it with FUSE, reports to the waiting parent (StartupReport), serves
// on a pool of threads until the filesystem is unmounted (fusermount3 -u,
// umount) or SIGTERM/SIGINT/SIGHUP arrives, then writes everything back,
// marks the filesystem clean and closes the card. The image lock is held
// until the very end. Returns the process exit code (0 after a clean stop).
#pragma once

#include "fusefs/fuse/daemon.h"
#include "fusefs/fuse/image_lock.h"
#include "fusefs/fuse/mount_request.h"

namespace cardfs::fuse {

inline constexpr unsigned kMaxFuseThreads = 8;

int serve_mount(const MountRequest& req, ImageLock lock, StartupReport& report);

}  // namespace cardfs::fuse
