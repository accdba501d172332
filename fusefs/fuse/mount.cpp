#include "fusefs/fuse/mount.h"

#include <fstream>
#include <sstream>

#include "base/log.h"
#include "fusefs/fuse/control_files.h"
#include "fusefs/fuse/fuse_fs.h"
#include "fusefs/fuse/kernel_readahead.h"
#include "fusefs/fuse/serve.h"
#include "fusefs/fuse/stack.h"

namespace cardfs::fuse {
namespace {

// The mount's options with the tunables file (tunables=FILE) over them.
Result<MountOptions> with_tunables_file(const MountOptions& opts) {
  if (opts.tunables_file.empty()) return opts;
  std::ifstream in(opts.tunables_file);
  if (!in) return Status::error(errno ? errno : ENOENT, "cannot read " + opts.tunables_file);
  std::ostringstream text;
  text << in.rdbuf();
  auto o = overlay_tunables(text.str(), opts);
  if (!o.is_ok()) return o.status().with_context(opts.tunables_file);
  return o;
}

// SIGHUP: the -o tunables and the tunables file again, all or nothing.
void reload_tunables(const MountOptions& opts, Stack& stack) {
  auto log = logger("fuse");
  auto o = with_tunables_file(opts);
  Status st = o.is_ok() ? stack.apply_tunables(*o) : o.status();
  if (st.is_ok())
    log->info("SIGHUP: tunables re-read{}", opts.tunables_file.empty() ? "" : " from " + opts.tunables_file);
  else
    log->error("SIGHUP: tunables not changed: {}", st.to_string());
}

// A failure costs only speed (the kernel's 128 KiB READs): said, not fatal.
void tune_kernel_read_ahead(const Result<std::string>& where, const MountOptions& opts) {
  const uint32_t kb = opts.kernel_read_ahead_kb.value_or(kDefaultKernelReadAheadKb);
  if (kb == 0) return;
  Status st = where.is_ok() ? set_kernel_read_ahead(*where, kb) : where.status();
  if (st.is_ok())
    logger("fuse")->debug("kernel readahead {} KiB", kb);
  else
    logger("fuse")->info("kernel readahead left as it was: {}", st.to_string());
}

}  // namespace

int serve_mount(const MountRequest& req, ImageLock lock, StartupReport& report) {
  auto log = logger("fuse");
  auto opts = with_tunables_file(req.options);
  if (!opts.is_ok()) {
    report.fail(opts.status());
    return 1;
  }
  // The layers and their threads: mmcqd/0, flush-data, jbd2, flush-metadata.
  auto opened = Stack::open(req.image, *opts);
  if (!opened.is_ok()) {
    report.fail(opened.status());
    return 1;
  }
  Stack& stack = **opened;
  std::unique_ptr<ControlTree> control = make_control_tree(stack, kControlInoBase, req.mountpoint);
  FuseFs fs(stack.fs(), *control, req.options);
  auto where = resolve_mountpoint(req.mountpoint);
  ServeOptions serve;
  serve.mountpoint = req.mountpoint;
  serve.kernel_options = kernel_mount_options(req.options, req.image);
  serve.threads = req.options.threads.value_or(kDefaultFuseThreads);
  serve.debug = req.debug;
  serve.on_hangup = [&] { reload_tunables(req.options, stack); };
  serve.on_mounted = [&](fuse_session* se) {
    fs.set_session(se);
    tune_kernel_read_ahead(where, req.options);
    log->info("{} mounted on {}", req.image, req.mountpoint);
  };
  Status served = serve_fuse(serve, FuseFs::operations(), &fs, report);
  Status down = stack.shutdown();
  if (!down.is_ok()) {
    log->error("{} was not closed cleanly: {}", req.image, down.to_string());
    return 1;
  }
  if (!served.is_ok()) return 1;
  log->info("{} unmounted cleanly", req.image);
  return 0;
}

}  // namespace cardfs::fuse
