// serve_mount: the life of a `cardfs mount` daemon, from the image to
// unmount (the steps every daemon shares are in serve.h).
//
// Opens the Stack (refusing, image untouched, what cannot be mounted; its
// threads start), then serve_fuse(): mounted, reported to the waiting
// parent, served on -o threads FUSE workers (default one) with SIGHUP
// re-reading the tunables, until the filesystem is unmounted (fusermount3
// -u, umount) or SIGTERM/SIGINT arrives; then the Stack writes everything
// back, marks the filesystem clean and closes the card. The image lock is
// held until the very end. Returns the process exit code (0 after a clean
// stop).
#pragma once

#include "fusefs/fuse/daemon.h"
#include "fusefs/fuse/image_lock.h"
#include "fusefs/fuse/mount_request.h"

namespace cardfs::fuse {

int serve_mount(const MountRequest& req, ImageLock lock, StartupReport& report);

}  // namespace cardfs::fuse
