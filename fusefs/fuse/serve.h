// serve_fuse: the FUSE half of every cardfs daemon — `cardfs mount`
// (serve_mount, mount.h) and `cardfs card export` alike. What a daemon is
// made of, in the order it is put together (docs/fuse.md, "How a daemon is
// put together"):
//   1. the command (tools/cmd_mount.cpp, tools/cmd_card_export.cpp) parses,
//      takes the image's claim, and forks with run_daemon() (daemon.h);
//   2. the serving process opens what it serves: a Stack (stack.h: the
//      card's `mmcqd/0`, the cache's `flush-data`, the journal's
//      `jbd2/mmcblk0-8`, the Stack's `flush-metadata`), or for an export
//      the bare card;
//   3. serve_fuse() mounts the session, starts the `sighup` thread if asked,
//      reports "mounted" to the waiting parent, serves on the FUSE worker
//      threads until the mount goes, then unmounts;
//   4. the serving process closes what it opened, in reverse.
//
// Contract
// - A mount that fails is reported through report.fail() (the parent's
//   terminal) and returned; nothing is left mounted.
// - Serving ends when the filesystem is unmounted (fusermount3 -u, umount)
//   or SIGTERM/SIGINT arrives, and SIGHUP too unless on_hangup is set:
//   then SIGHUP runs on_hangup on the `sighup` thread (hangup.h) and a
//   SIGHUP after serving is ignored. A failed loop is logged and returned.
// - threads: up to that many FUSE workers; 1 runs each request on the
//   calling thread, one at a time.
#pragma once

#include <functional>
#include <string>

#include "base/status.h"
#include "fusefs/fuse/daemon.h"
#include "fusefs/fuse/session.h"  // FUSE_USE_VERSION, fuse_lowlevel.h

namespace cardfs::fuse {

struct ServeOptions {
  std::string mountpoint;
  std::string kernel_options;  // the session's -o words (kernel_mount_options())
  unsigned threads = 1;
  bool debug = false;  // libfuse logs every request
  std::function<void()> on_hangup;
  // Runs once mounted, before the parent hears "mounted".
  std::function<void(fuse_session*)> on_mounted;
};

Status serve_fuse(const ServeOptions& o, const fuse_lowlevel_ops& ops, void* userdata,
                  StartupReport& report);

}  // namespace cardfs::fuse
