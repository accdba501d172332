#include "tools/workload/fs_on_card.h"

#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tools/workload/process.h"

namespace cardfs::workload {
namespace {

using std::chrono::seconds;
namespace fs = std::filesystem;

// How each filesystem is made, mounted, repaired and checked. fuse_mount:
// a FUSE helper (mount.exfat-fuse) instead of the kernel's driver. The
// repair and the checker come from the mkfs's package (FsTools).
struct Kind {
  std::string name, mkfs, package;
  std::vector<std::string> mkfs_args;  // before the device
  std::string kernel_type, fuse_mount, fuse_package;
  FsTools tools;
  // Always given to its mount: xfs refuses a second mount of a filesystem
  // UUID, and crashtest mounts states of one recording (copies of one
  // filesystem) side by side.
  std::string mount_options = {};
};

const std::vector<Kind>& kinds() {
  static const std::vector<Kind> k = {
      {"cardfs", "", "", {}, "", "", "", {}},
      // ext4 and f2fs recover at mount (journal, roll-forward), as do xfs
      // and btrfs (log, tree of the last commit): no repair before it.
      {"ext4", "mkfs.ext4", "e2fsprogs", {"-q", "-F"}, "ext4", "", "", {{}, {"e2fsck", "-fn"}}},
      // exFAT and FAT have no log: a boot runs the checker's automatic
      // repair before mounting (fstab's fsck pass; cameras do the same).
      {"exfat", "mkfs.exfat", "exfatprogs", {}, "", "mount.exfat-fuse", "exfat-fuse",
       {{"fsck.exfat", "-p"}, {"fsck.exfat", "-n"}}},
      {"btrfs", "mkfs.btrfs", "btrfs-progs", {"-q", "-f"}, "btrfs", "", "", {{}, {"btrfs", "check", "--readonly"}}},
      {"xfs", "mkfs.xfs", "xfsprogs", {"-q", "-f"}, "xfs", "", "", {{}, {"xfs_repair", "-n"}}, "nouuid"},
      {"vfat", "mkfs.vfat", "dosfstools", {}, "vfat", "", "", {{"fsck.vfat", "-a"}, {"fsck.vfat", "-n"}}},
      {"f2fs", "mkfs.f2fs", "f2fs-tools", {"-q", "-f"}, "f2fs", "", "", {{}, {"fsck.f2fs", "--dry-run"}}},
  };
  return k;
}

const Kind* kind_of(const std::string& name) {
  for (const Kind& k : kinds())
    if (k.name == name) return &k;
  return nullptr;
}

bool kernel_has(const std::string& type) {
  std::ifstream in("/proc/filesystems");
  for (std::string line; std::getline(in, line);)
    if (line.substr(line.find_last_of(" \t") + 1) == type) return true;
  // Not loaded, but a module the mount would load.
  return run({"modprobe", "-n", "-q", type}, seconds(10)).is_ok();
}

std::string kernel_release() {
  utsname u{};
  return ::uname(&u) == 0 ? u.release : "?";
}

bool exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

// Waits (bounded) until pred() holds.
template <typename Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// The loop device still holds its backing file (sysfs: loop/backing_file).
bool loop_busy(const std::string& loop) {
  return exists("/sys/block/" + fs::path(loop).filename().string() + "/loop/backing_file");
}

std::string tail(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return last;
}

}  // namespace

std::vector<std::string> known_filesystems() {
  std::vector<std::string> out;
  for (const Kind& k : kinds()) out.push_back(k.name);
  return out;
}

Status check_filesystem(const std::string& fs) {
  const Kind* k = kind_of(fs);
  if (k == nullptr) {
    std::string known;
    for (const std::string& n : known_filesystems()) known += (known.empty() ? "" : ", ") + n;
    return Status::error(EINVAL, "unknown filesystem '" + fs + "' (known: " + known + ")");
  }
  if (!exists("/dev/fuse")) return Status::error(ENOTSUP, fs + ": no /dev/fuse on this machine");
  if (fs == "cardfs") return Status::ok();
  auto refuse = [&](const std::string& why) { return Status::error(ENOTSUP, fs + ": " + why); };
  if (::geteuid() != 0) return refuse("needs root (a loop device over the card and mount(8))");
  if (!find_program("losetup")) return refuse("no losetup (util-linux)");
  if (!k->fuse_mount.empty()) {
    if (!find_program(k->fuse_mount))
      return refuse("no " + k->fuse_mount + " (Debian package " + k->fuse_package + ")");
  } else if (!kernel_has(k->kernel_type)) {
    return refuse("the running kernel (" + kernel_release() + ") cannot mount " + k->kernel_type +
                  " (not in /proc/filesystems, no module)");
  }
  if (!find_program(k->mkfs)) return refuse("no " + k->mkfs + " (Debian package " + k->package + ")");
  return Status::ok();
}

FsTools fs_tools(const std::string& fs) {
  const Kind* k = kind_of(fs);
  return k == nullptr ? FsTools{} : k->tools;
}

Status check_fs_tools(const std::string& fs) {
  const Kind* k = kind_of(fs);
  if (k == nullptr) return check_filesystem(fs);
  for (const std::vector<std::string>* argv : {&k->tools.repair, &k->tools.check})
    if (!argv->empty() && !find_program(argv->front()))
      return Status::error(ENOTSUP, fs + ": no " + argv->front() + " (Debian package " + k->package + ")");
  return Status::ok();
}

FsOnCard::FsOnCard(const CardSpec& spec)
    : spec_(spec), image_(spec.dir + "/card.img"), mnt_(spec.dir + "/mnt"), export_dir_(spec.dir + "/export") {}

FsOnCard::~FsOnCard() { take_down(); }

Result<std::unique_ptr<FsOnCard>> FsOnCard::make(const CardSpec& spec, const std::string& setup_trace) {
  CARDFS_RETURN_IF_ERROR(check_filesystem(spec.fs));
  std::unique_ptr<FsOnCard> f(new FsOnCard(spec));
  std::error_code ec;
  fs::create_directories(f->mnt_, ec);
  fs::create_directories(f->export_dir_, ec);
  if (ec) return Status::error(ec.value(), "creating " + f->mnt_ + ": " + ec.message());
  const std::string size = std::to_string(spec.size_bytes);
  if (spec.fs == "cardfs") {
    std::vector<std::string> mkfs = {spec.cardfs, "mkfs", "--profile", spec.profile, "--size", size};
    mkfs.insert(mkfs.end(), spec.mkfs_args.begin(), spec.mkfs_args.end());
    mkfs.push_back(f->image_);
    CARDFS_RETURN_IF_ERROR(run(mkfs, seconds(300)));
    return f;
  }
  CARDFS_RETURN_IF_ERROR(
      run({spec.cardfs, "card", "create", f->image_, "--profile", spec.profile, "--size", size}, seconds(120)));
  CARDFS_RETURN_IF_ERROR(f->attach(setup_trace));
  const Kind& k = *kind_of(spec.fs);
  std::vector<std::string> mkfs = {k.mkfs};
  mkfs.insert(mkfs.end(), k.mkfs_args.begin(), k.mkfs_args.end());
  mkfs.insert(mkfs.end(), spec.mkfs_args.begin(), spec.mkfs_args.end());
  mkfs.push_back(f->loop_);
  CARDFS_RETURN_IF_ERROR(run(mkfs, seconds(600)));
  CARDFS_RETURN_IF_ERROR(f->detach());
  return f;
}

Result<std::unique_ptr<FsOnCard>> FsOnCard::adopt(const CardSpec& spec) {
  CARDFS_RETURN_IF_ERROR(check_filesystem(spec.fs));
  std::unique_ptr<FsOnCard> f(new FsOnCard(spec));
  if (!exists(f->image_)) return Status::error(ENOENT, f->image_ + ": no card image");
  std::error_code ec;
  fs::create_directories(f->mnt_, ec);
  fs::create_directories(f->export_dir_, ec);
  if (ec) return Status::error(ec.value(), "creating " + f->mnt_ + ": " + ec.message());
  return f;
}

std::string FsOnCard::mark_file() const {
  if (!mounted_) return "";
  return spec_.fs == "cardfs" ? mnt_ + "/.cardfs/mark" : export_dir_ + "/mark";
}

Status FsOnCard::attach(const std::string& trace, const std::string& record) {
  std::vector<std::string> argv = {spec_.cardfs, "card", "export", "-f", image_, export_dir_};
  if (!trace.empty()) argv.insert(argv.end(), {"--trace", trace});
  if (!record.empty()) argv.insert(argv.end(), {"--record", record});
  SpawnOptions o;
  o.stdout_path = spec_.dir + "/export-counters.txt";
  o.stderr_path = spec_.dir + "/export.log";
  o.own_process_group = true;  // a ^C ends the workload, not the card under it
  CARDFS_ASSIGN_OR_RETURN(export_pid_, spawn(argv, o));
  const std::string card = export_dir_ + "/card";
  bool exited = false;
  wait_until([&] { return exists(card) || (exited = wait_for(export_pid_, std::chrono::milliseconds(0)).is_ok()); },
             seconds(60));
  if (exited || !exists(card)) {
    if (!exited) terminate(export_pid_);
    export_pid_ = -1;
    return Status::error(EIO, "cardfs card export did not come up: " + tail(o.stderr_path));
  }
  Result<std::string> loop = run_output({"losetup", "--find", "--show", card}, seconds(60));
  if (!loop.is_ok()) return loop.status();
  loop_ = loop->substr(0, loop->find('\n'));
  return Status::ok();
}

Status FsOnCard::detach() {
  Status st;
  if (!loop_.empty()) {
    st = run({"losetup", "-d", loop_}, seconds(60));
    // The loop device lets go of the card once its last opener has (a
    // FUSE filesystem's daemon may still be closing it).
    if (st.is_ok() && !wait_until([&] { return !loop_busy(loop_); }, seconds(60)))
      st = Status::error(EBUSY, loop_ + " still holds the card after 60 s");
    if (st.is_ok()) loop_.clear();
  }
  if (export_pid_ > 0 && st.is_ok()) {
    Status um = Status::error(EBUSY, "not tried");
    wait_until([&] { return (um = run({"fusermount3", "-u", export_dir_}, seconds(30))).is_ok(); }, seconds(30));
    if (!um.is_ok()) return um;
    Result<int> rc = wait_for(export_pid_, seconds(120));
    if (!rc.is_ok()) return rc.status().with_context("the card export did not exit");
    export_pid_ = -1;
    if (*rc != 0) return Status::error(EIO, "cardfs card export exited with " + std::to_string(*rc) + ": " +
                                                tail(spec_.dir + "/export.log"));
  }
  return st;
}

Status FsOnCard::mount(const std::string& trace, const std::string& record) {
  if (spec_.fs == "cardfs") {
    std::string opts = "trace_clock=host";
    if (!trace.empty()) opts += ",trace=" + trace;
    if (!record.empty()) opts += ",record=" + record;
    if (!spec_.mount_options.empty()) opts += "," + spec_.mount_options;
    CARDFS_RETURN_IF_ERROR(run({spec_.cardfs, "mount", image_, mnt_, "-o", opts}, seconds(120)));
    mounted_ = true;
    return Status::ok();
  }
  CARDFS_RETURN_IF_ERROR(attach(trace, record));
  const Kind& k = *kind_of(spec_.fs);
  std::vector<std::string> argv = {"mount", "-t", k.kernel_type, loop_, mnt_};
  if (!k.fuse_mount.empty()) argv = {k.fuse_mount, loop_, mnt_};
  std::string opts = k.mount_options;
  if (!spec_.mount_options.empty()) opts += (opts.empty() ? "" : ",") + spec_.mount_options;
  if (!opts.empty()) argv.insert(argv.end(), {"-o", opts});
  CARDFS_RETURN_IF_ERROR(run(argv, seconds(120)));
  mounted_ = true;
  return Status::ok();
}

Status FsOnCard::unmount() {
  if (!mounted_) return Status::ok();
  CARDFS_RETURN_IF_ERROR(run({"sync", "-f", mnt_}, seconds(600)));
  if (spec_.fs == "cardfs") {
    CARDFS_RETURN_IF_ERROR(run({spec_.cardfs, "umount", mnt_}, seconds(600)));
    mounted_ = false;
    return Status::ok();
  }
  CARDFS_RETURN_IF_ERROR(run({"umount", mnt_}, seconds(600)));
  mounted_ = false;
  return detach();
}

Result<int> FsOnCard::run_on_device(std::vector<std::string> argv, const std::string& out, seconds timeout) {
  if (!through_export() || mounted_) return Status::error(EINVAL, "run_on_device needs the unmounted card's export");
  CARDFS_RETURN_IF_ERROR(attach(""));
  argv.push_back(loop_);
  SpawnOptions o;
  o.stdout_path = o.stderr_path = out;
  o.own_process_group = true;
  Result<pid_t> pid = spawn(argv, o);
  Result<int> rc = pid.is_ok() ? wait_for(*pid, timeout) : Result<int>(pid.status());
  if (pid.is_ok() && !rc.is_ok() && rc.status().code() == ETIMEDOUT) terminate(*pid);
  Status down = detach();  // a checker's failure still lets go of the device
  if (rc.is_ok() && !down.is_ok()) return down;
  return rc;
}

void FsOnCard::take_down() {
  if (mounted_) {
    const bool fuse = spec_.fs == "cardfs" || !kind_of(spec_.fs)->fuse_mount.empty();
    if (!run({"umount", mnt_}, seconds(60)).is_ok()) {
      if (fuse) (void)run({"fusermount3", "-uz", mnt_}, seconds(30));
      (void)run({"umount", "-l", mnt_}, seconds(30));
    }
    mounted_ = false;
  }
  if (!loop_.empty()) {
    (void)run({"losetup", "-d", loop_}, seconds(30));
    wait_until([&] { return !loop_busy(loop_); }, seconds(30));
    loop_.clear();
  }
  if (export_pid_ > 0) {
    if (!run({"fusermount3", "-u", export_dir_}, seconds(30)).is_ok())
      (void)run({"fusermount3", "-uz", export_dir_}, seconds(30));
    if (!wait_for(export_pid_, seconds(60)).is_ok()) terminate(export_pid_);
    export_pid_ = -1;
  }
}

}  // namespace cardfs::workload
