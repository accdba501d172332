// `cardfs mount IMAGE MOUNTPOINT [-o OPTS]... [-f] [-d]`, also reached as
// `mount.cardfs IMAGE MOUNTPOINT -o OPTS` by mount(8) and /etc/fstab
// (see docs/fuse.md). Every mistake is one line on stderr and exit 1, with
// nothing mounted; the daemon detaches only once the mount is up.
#include <cstdio>

#include "fusefs/fuse/daemon.h"
#include "fusefs/fuse/image_lock.h"
#include "fusefs/fuse/mount_request.h"
#include "tools/command.h"
#include "tools/fsck/progress.h"
#include "tools/program_name.h"
#include "fusefs/fuse/mount.h"

namespace cardfs::tools {
namespace {

constexpr int kExitMountFailed = 1;

struct MountArgs {
  std::string image;
  std::string mountpoint;
  std::vector<std::string> options;
  bool foreground = false;
  bool debug = false;
};

int fail(const Status& st) {
  std::fprintf(stderr, "%s: %s\n", invoked_as("mount").c_str(), st.message().c_str());
  return kExitMountFailed;
}

int run_mount(const MountArgs& a) {
  auto req = fuse::prepare_mount(a.image, a.mountpoint, a.options);
  if (!req.is_ok()) return fail(req.status());
  req->foreground = a.foreground || a.debug;
  req->debug = a.debug;
  // The daemon keeps this terminal until the mount is up, so it draws the
  // scan's bar itself.
  req->options.scan_progress = fsck::scan_progress_on_terminal(req->image);
  // Taken before forking: the daemon inherits it (flock follows the open
  // file), and a second mount fails here, before anything detaches.
  auto lock = fuse::ImageLock::take(req->image);
  if (!lock.is_ok()) return fail(lock.status());
  return fuse::run_daemon(req->foreground, [&](fuse::StartupReport& report) {
    return fuse::serve_mount(*req, std::move(*lock), report);
  });
}

void add_mount(CLI::App& app, CommandContext& ctx) {
  auto a = std::make_shared<MountArgs>();
  auto* sub = app.add_subcommand("mount", "Mount a card image with FUSE (mount.cardfs)");
  sub->add_option("image", a->image, "Card image made by mkfs.cardfs")->required();
  sub->add_option("mountpoint", a->mountpoint, "Directory to mount on")->required();
  sub->add_option("-o", a->options, "Mount options, comma-separated (see docs/fuse.md)")
      ->allow_extra_args(false);
  sub->add_flag("-f,--foreground", a->foreground, "Stay in the foreground");
  sub->add_flag("-d,--debug", a->debug, "Log every FUSE request (implies -f)");
  // What mount(8) passes its helpers: -n (no mtab), -s (sloppy), -v, -t TYPE.
  sub->add_flag("-n,-s")->description("Accepted from mount(8); ignored");
  sub->add_option("-t")->description("Filesystem type from mount(8); ignored");
  sub->callback([&ctx, a] { ctx.run = [a] { return run_mount(*a); }; });
}

}  // namespace

CARDFS_REGISTER_COMMAND("mount", add_mount);

}  // namespace cardfs::tools
