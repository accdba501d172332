// Daemonising with mount errors reported before the terminal is let go.
//
// run_daemon(foreground, body): without foreground it forks; the parent
// waits on a pipe until the child calls StartupReport::ready() (the mount
// is up: the parent exits 0) or fail() / exits without reporting (the
// parent prints the one-line error and exits 1). The child then starts a
// new session, moves to "/" and points stdio at /dev/null, and goes on
// serving until body returns. With foreground, body runs in this process
// and the report only prints failures.
//
// Paths given to body must be absolute: the daemon changes directory.
// Call before any thread is started (fork keeps only the calling thread).
#pragma once

#include <functional>
#include <string>

#include "base/status.h"

namespace cardfs::fuse {

class StartupReport {
 public:
  // The mount is up; the foreground parent may exit successfully.
  virtual void ready() = 0;
  // Mounting failed; reported once, the parent exits 1 with st's message.
  virtual void fail(const Status& st) = 0;
  virtual bool reported() const = 0;

 protected:
  ~StartupReport() = default;
};

// Returns the exit code for the calling process: in the parent, 0 or 1 by
// the child's report; in the (possibly forked) serving process, body's.
// `who` starts every error line ("cardfs mount", "cardfs card export").
int run_daemon(bool foreground, const std::function<int(StartupReport&)>& body,
               const std::string& who = "cardfs mount");

}  // namespace cardfs::fuse
