// `cardfs umount DIR [--timeout SECONDS]`, also `umount.fuse.cardfs DIR
// [-nlfvr] [-t TYPE]` as umount(8) runs it for a fuse.cardfs mount:
// unmounts, then returns only once the daemon has written everything back
// to the card, closed it and exited. `fusermount3 -u` returns as soon as the
// kernel has detached the mount, while the daemon may still be writing
// (docs/fuse.md). Errors are one line on stderr and exit 1; usage errors 2.
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "base/image_claim.h"
#include "base/mount_table.h"
#include "tools/command.h"
#include "tools/program_name.h"

extern char** environ;

namespace cardfs::tools {
namespace {

struct UmountArgs {
  std::string dir;
  double timeout = 300;  // seconds to wait for the daemon after the unmount
  bool lazy = false;
  std::string type;  // -t, from umount(8): ignored
  bool no_mtab = false, force = false, verbose = false, remount_ro = false;
};

struct CardfsMount {
  std::string dir, image;  // image: "" when the mount's source is not a file (-o fsname=...)
  pid_t daemon = 0;
};

// DIR's entry in /proc/mounts, which must be a cardfs mount.
Result<CardfsMount> find_mount(const std::string& dir) {
  std::error_code ec;
  const std::string want = std::filesystem::weakly_canonical(dir, ec).string();
  CARDFS_ASSIGN_OR_RETURN(std::vector<MountEntry> table, read_mount_table());
  // The last entry on a path is the mount the kernel sees there.
  for (auto e = table.rbegin(); e != table.rend(); ++e) {
    if (e->target != want) continue;
    if (e->fstype != "fuse.cardfs")
      return Status::error(EINVAL, dir + " is a " + e->fstype + " mount, not cardfs (use umount)");
    CardfsMount m{want, e->source, 0};
    if (!std::filesystem::is_regular_file(m.image, ec)) m.image.clear();
    std::ifstream pid(want + "/.cardfs/pid");
    long p = 0;
    if (pid >> p) m.daemon = pid_t(p);
    return m;
  }
  return Status::error(EINVAL, dir + " is not mounted");
}

// umount2 when we may (root), else fusermount3 as a FUSE user does.
Status detach(const std::string& dir, bool lazy) {
  if (::umount2(dir.c_str(), lazy ? MNT_DETACH : 0) == 0) return Status::ok();
  if (errno == EBUSY) return Status::error(EBUSY, dir + " is busy (files open or a process inside it)");
  std::vector<std::string> args = {"fusermount3", lazy ? "-uz" : "-u", dir};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t child = 0;
  if (int err = posix_spawnp(&child, "fusermount3", nullptr, nullptr, argv.data(), environ); err != 0)
    return Status::error(err, "cannot run fusermount3 to unmount " + dir);
  int status = 0;
  if (::waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return Status::error(EBUSY, "fusermount3 -u " + dir + " failed");
  return Status::ok();
}

// Whether pid has exited: gone, or a zombie. The daemon's parent is init
// (it daemonised), and an init that reaps lazily (a container's, as on the
// machine where this was measured: ~1.2 s per unmount) leaves the exited
// daemon a zombie that kill(pid, 0) still finds. A zombie holds no files,
// so its lock on the image and its writes are done.
bool exited(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return true;  // gone between the two looks
  // "PID (COMM) STATE ...": COMM may hold spaces and parentheses.
  const size_t close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() &&
         (stat[close + 2] == 'Z' || stat[close + 2] == 'X');
}

bool daemon_done(const CardfsMount& m) {
  if (m.daemon > 0 && !exited(m.daemon)) return false;
  // The daemon releases the image's lock only after closing the card.
  return m.image.empty() || ImageClaim::take(m.image).is_ok();
}

int run_umount(const UmountArgs& a) {
  auto fail = [](const std::string& why) {
    std::fprintf(stderr, "%s: %s\n", invoked_as("umount").c_str(), why.c_str());
    return 1;
  };
  auto m = find_mount(a.dir);
  if (!m.is_ok()) return fail(m.status().message());
  if (Status st = detach(m->dir, a.lazy); !st.is_ok()) return fail(st.message());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(a.timeout);
  while (!daemon_done(*m)) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return fail(m->dir + " is unmounted, but its daemon" +
                  (m->daemon > 0 ? " (pid " + std::to_string(m->daemon) + ")" : std::string()) +
                  " is still writing " + (m->image.empty() ? "its image" : m->image) + " after " +
                  std::to_string(int(a.timeout)) + " s; it goes on: wait before copying the image");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (a.verbose) std::printf("%s unmounted; %s written and closed\n", m->dir.c_str(),
                             m->image.empty() ? "the card" : m->image.c_str());
  return 0;
}

void add_umount(CLI::App& app, CommandContext& ctx) {
  auto a = std::make_shared<UmountArgs>();
  auto* c = app.add_subcommand(
      "umount", "Unmount a cardfs mount and wait until its data is on the card (umount.fuse.cardfs)");
  c->add_option("dir", a->dir, "Mount point")->required();
  c->add_option("--timeout", a->timeout, "Seconds to wait for the daemon to finish (default 300)")
      ->check(CLI::NonNegativeNumber);
  c->add_flag("-l,--lazy", a->lazy, "Detach now even if busy; still wait for the daemon");
  c->add_flag("-v,--verbose", a->verbose, "Say when it is done");
  // What umount(8) passes its helpers; accepted, and no use here.
  c->add_flag("-n", a->no_mtab, "(umount(8): no mtab; ignored)");
  c->add_flag("-f", a->force, "(umount(8): force; ignored)");
  c->add_flag("-r", a->remount_ro, "(umount(8): remount read-only on failure; ignored)");
  c->add_option("-t", a->type, "(umount(8): the type; ignored)");
  c->callback([&ctx, a] { ctx.run = [a] { return run_umount(*a); }; });
}

}  // namespace

CARDFS_REGISTER_COMMAND("umount", add_umount);

}  // namespace cardfs::tools
