#include "fusefs/fuse/mount.h"

#include "base/log.h"
#include "fusefs/fuse/control_files.h"
#include "fusefs/fuse/fuse_fs.h"
#include "fusefs/fuse/session.h"
#include "fusefs/fuse/stack.h"

namespace cardfs::fuse {

int serve_mount(const MountRequest& req, ImageLock lock, StartupReport& report) {
  auto log = logger("fuse");
  auto stack = Stack::open(req.image, req.options);
  if (!stack.is_ok()) {
    report.fail(stack.status());
    return 1;
  }
  std::unique_ptr<ControlTree> control = make_control_tree(**stack, kControlInoBase);
  FuseFs fs(stack->get()->fs(), *control, req.options);
  auto session = FuseSession::mount(req.mountpoint, kernel_mount_options(req.options, req.image),
                                    FuseFs::operations(), &fs, req.debug);
  if (!session.is_ok()) {
    report.fail(session.status());
    Status down = stack->get()->shutdown();
    if (!down.is_ok()) log->error("closing {}: {}", req.image, down.to_string());
    return 1;
  }
  fs.set_session((*session)->raw());
  log->info("{} mounted on {}", req.image, req.mountpoint);
  report.ready();
  Status served = (*session)->serve(kMaxFuseThreads);
  session->reset();  // unmounts if a signal ended the loop
  Status down = stack->get()->shutdown();
  if (!served.is_ok()) log->error("{}", served.to_string());
  if (!down.is_ok()) {
    log->error("{} was not closed cleanly: {}", req.image, down.to_string());
    return 1;
  }
  log->info("{} unmounted cleanly", req.image);
  return served.is_ok() ? 0 : 1;
}

}  // namespace cardfs::fuse
