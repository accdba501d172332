#include "fusefs/fuse/session.h"

#include <algorithm>
#include <vector>

#include "fusefs/fuse/waiting_ops.h"

namespace cardfs::fuse {
namespace {

// Requests the one-thread loop lets wait at once (cold reads, throttled
// writes, fsyncs ...); more queue behind them. The card takes one command
// at a time anyway; a sleeping worker costs nothing.
constexpr unsigned kWaitingWorkers = 8;

}  // namespace

Result<std::unique_ptr<FuseSession>> FuseSession::mount(const std::string& mountpoint,
                                                        const std::string& kernel_options,
                                                        const fuse_lowlevel_ops& ops,
                                                        void* userdata, bool debug) {
  std::vector<std::string> words = {"cardfs", "-o", kernel_options};
  if (debug) words.push_back("-d");
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  fuse_args args = FUSE_ARGS_INIT(int(argv.size()), argv.data());
  fuse_session* se = fuse_session_new(&args, &ops, sizeof ops, userdata);
  fuse_opt_free_args(&args);
  if (se == nullptr)
    return Status::error(EINVAL, "libfuse refused the mount options '" + kernel_options + "'");
  std::unique_ptr<FuseSession> s(new FuseSession(se));
  if (fuse_set_signal_handlers(se) != 0)
    return Status::error(EIO, "cannot install the signal handlers");
  s->signals_ = true;
  if (fuse_session_mount(se, mountpoint.c_str()) != 0)
    return Status::error(EIO, "mounting on " + mountpoint + " failed (see the message above)");
  s->mounted_ = true;
  return s;
}

FuseSession::~FuseSession() {
  if (signals_) fuse_remove_signal_handlers(se_);
  if (mounted_) fuse_session_unmount(se_);
  fuse_session_destroy(se_);
}

Status FuseSession::serve(unsigned max_threads) {
  int rc;
  if (max_threads <= 1) {
    // On this thread, one request at a time; those that would wait go to
    // the waiting workers (waiting_ops.h), which answer them before the
    // loop's end returns.
    waiting_ops::start(kWaitingWorkers);
    rc = fuse_session_loop(se_);
    waiting_ops::stop();
  } else {
    fuse_loop_config* cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(cfg, max_threads);
    // Below two idle workers libfuse starts a thread for nearly every
    // request and ends one after it.
    fuse_loop_cfg_set_idle_threads(cfg, std::max(2u, max_threads / 2));
    rc = fuse_session_loop_mt(se_, cfg);
    fuse_loop_cfg_destroy(cfg);
  }
  fuse_session_reset(se_);
  // libfuse returns the signal number when a signal ended the loop.
  if (rc < 0) return Status::error(-rc, "the FUSE session loop failed");
  return Status::ok();
}

void FuseSession::exit() { fuse_session_exit(se_); }

}  // namespace cardfs::fuse
