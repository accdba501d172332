// FuseSession: one libfuse3 low-level session — mount, serve with a pool
// of threads, unmount. The operations and their userdata are the caller's.
//
// Contract
// - mount() creates the session with the kernel options given (see
//   kernel_mount_options()), mounts it and installs libfuse's handlers
//   for SIGTERM, SIGINT and SIGHUP, which end serve(). Errors: EIO with
//   what libfuse said (it logs details to stderr itself).
// - serve() runs libfuse's loop until the filesystem is unmounted
//   (fusermount3 -u, umount) or a signal arrives; exit() ends it too.
//   More than one thread: fuse_session_loop_mt's workers; one: each
//   request on the calling thread, in turn (fuse_session_loop).
// - The destructor removes the signal handlers, unmounts (if still
//   mounted) and destroys the session. userdata must outlive it.
#pragma once

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <memory>
#include <string>

#include "base/status.h"

namespace cardfs::fuse {

class FuseSession {
 public:
  static Result<std::unique_ptr<FuseSession>> mount(const std::string& mountpoint,
                                                    const std::string& kernel_options,
                                                    const fuse_lowlevel_ops& ops,
                                                    void* userdata, bool debug);
  ~FuseSession();
  FuseSession(const FuseSession&) = delete;
  FuseSession& operator=(const FuseSession&) = delete;

  // Serves requests on up to max_threads threads until unmount or signal.
  // Most callers want serve_fuse() (serve.h), the whole FUSE side.
  Status serve(unsigned max_threads);
  // Makes serve() return (from any thread).
  void exit();
  fuse_session* raw() { return se_; }

 private:
  explicit FuseSession(fuse_session* se) : se_(se) {}
  fuse_session* se_;
  bool mounted_ = false;
  bool signals_ = false;
};

}  // namespace cardfs::fuse
