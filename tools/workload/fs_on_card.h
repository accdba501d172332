// A filesystem on a fresh emulated card, mounted for a workload, with the
// card's commands recorded as a blktrace-format trace.
//
// - cardfs: `cardfs mkfs` makes the card and the filesystem, `cardfs
//   mount -o trace=...,trace_clock=host` mounts it, `cardfs umount` waits
//   until the daemon has written everything back and closed the card.
// - the others (ext4, exfat, btrfs, xfs, vfat, f2fs), as embedded products
//   run them: `cardfs card export -f --trace` shows the raw card as a file,
//   `losetup` makes it a block device, the Debian mkfs formats it and the
//   kernel (exFAT: exfat-fuse, as cameras and loggers format cards) mounts
//   it. Unmounting waits for the loop device to let go of the card and for
//   the export to close it, so every write has reached the card.
// A filesystem the machine cannot make or mount is refused by check() with
// the reason (no kernel support, no mkfs, not root ...). Every wait is
// bounded; the destructor takes down whatever a failure left (mount, loop
// device, export), so nothing outlives the object. Not thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace cardfs::workload {

// The filesystems this knows, in display order.
std::vector<std::string> known_filesystems();

// OK when this machine can make and mount `fs`; otherwise ENOTSUP (or
// EINVAL for a name this does not know) saying why.
Status check_filesystem(const std::string& fs);

// A filesystem's own tools, each run on the card's block device (argv, the
// device appended): `repair`, what a boot runs before mounting one without
// a log (exFAT: fsck.exfat -p; empty when the mount recovers it), and
// `check`, the read-only checker (e2fsck -fn, fsck.exfat -n, btrfs check
// --readonly, xfs_repair -n ...; exit 0: clean). Both empty for cardfs,
// whose fsck reads the image itself.
struct FsTools {
  std::vector<std::string> repair, check;
};
FsTools fs_tools(const std::string& fs);
// OK when this machine has fs's repair and checker; else ENOTSUP naming
// the program and its Debian package.
Status check_fs_tools(const std::string& fs);

struct CardSpec {
  std::string cardfs;      // the cardfs binary
  std::string fs;          // a known_filesystems() name
  std::string profile;     // card profile
  uint64_t size_bytes = 0; // card capacity (a multiple of the AU)
  std::string dir;         // an existing scratch directory: image, mount points, logs
  std::vector<std::string> mkfs_args = {};  // added to the filesystem's mkfs (cardfs: `-O ^journal` ...)
  std::string mount_options = {};      // added to the mount's -o (ext4: data=writeback ...)
};

class FsOnCard {
 public:
  // A fresh card image in spec.dir with the filesystem made on it. For
  // filesystems made through the export, setup_trace (when not empty)
  // records the card's commands of the mkfs; cardfs's mkfs writes the
  // image directly and records none.
  static Result<std::unique_ptr<FsOnCard>> make(const CardSpec& spec, const std::string& setup_trace = "");
  // The card image already in spec.dir (card.img: a copy, a crash state),
  // with its filesystem, to be mounted as make()'s would be.
  static Result<std::unique_ptr<FsOnCard>> adopt(const CardSpec& spec);
  ~FsOnCard();
  FsOnCard(const FsOnCard&) = delete;
  FsOnCard& operator=(const FsOnCard&) = delete;

  // Mounts on mount_point(), recording the card's commands as `trace`
  // (NAME.blktrace.N; empty: no trace), on the host's clock.
  // `record` (NAME, when not empty): every card command with its data in
  // NAME.blktrace.0 (blockdev/command_log.h), for crashtest.
  Status mount(const std::string& trace = "", const std::string& record = "");
  // Where a workload writes its markers (.cardfs/mark, or the export's mark
  // file): "" before mount().
  std::string mark_file() const;
  // Syncs, unmounts and waits until everything reached the card, the card
  // is closed and the trace is written.
  Status unmount();
  // Unmounted, through the export: argv run on the card's block device
  // (appended to argv), output to `out`; its exit status (ETIMEDOUT past
  // `timeout`). How crashtest runs e2fsck -fn after ext4's recovery.
  Result<int> run_on_device(std::vector<std::string> argv, const std::string& out, std::chrono::seconds timeout);

  const std::string& image() const { return image_; }
  const std::string& mount_point() const { return mnt_; }
  bool through_export() const { return spec_.fs != "cardfs"; }

 private:
  explicit FsOnCard(const CardSpec& spec);
  Status attach(const std::string& trace, const std::string& record = "");  // export + loop device
  Status detach();                           // loop device detached, export ended
  void take_down();                          // after a failure: best effort, bounded

  CardSpec spec_;
  std::string image_, mnt_, export_dir_, loop_;
  pid_t export_pid_ = -1;
  bool mounted_ = false;
};

}  // namespace cardfs::workload
