// MountOptions: what `cardfs mount -o ...` (and mount(8)/fstab through the
// mount.cardfs helper) may say, parsed by one pure function.
//
// Contract
// - parse_mount_options() takes the raw `-o` arguments (each a comma-
//   separated list; "\," escapes a comma inside a value) and returns either
//   the complete MountOptions or EINVAL with a one-line message naming the
//   offending option. It never touches the system; the caller mounts
//   nothing when it fails.
// - Tunables left unset keep the layers' own defaults (Linux's), so an
//   unset std::optional means "not given", not zero.
// - `profile=` is refused: the card profile is fixed when the image is made.
// - Options mount(8) and fstab add for themselves (defaults, auto, noauto,
//   user, nofail, _netdev, x-*, comment=...) are accepted and ignored;
//   VFS flags (nodev, nosuid, noexec, noatime, ...) go to the kernel.
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace cardfs::fuse {

enum class Scheduler { kNone, kMqDeadline };

struct MountOptions {
  // ---- FUSE and VFS
  bool read_only = false;
  bool allow_other = false;
  // The kernel checks permissions when this is set or with allow_other;
  // otherwise the daemon does (kernel_checks_permissions, docs/fuse.md).
  bool default_permissions = false;
  std::string fsname;                   // empty: the image path
  std::vector<std::string> vfs_flags;   // nodev, nosuid, noatime ... for the kernel
  // The kernel's readahead for this mount (its bdi), so a sequential
  // reader's READs reach max_pages (1 MiB) instead of 128 KiB; set after
  // the mount when the daemon may (root). Unset: kDefaultKernelReadAheadKb;
  // 0 leaves the kernel's own default.
  std::optional<uint32_t> kernel_read_ahead_kb;

  // ---- data path
  bool direct_io = false;  // cardfs's cache is the only data cache
  bool sync = false;       // every write is written through (O_SYNC for all)
  // noxattr: the xattr operations answer ENOSYS, so the kernel stops asking
  // (no security.capability round trip before every write; docs/fuse.md).
  bool xattr = true;
  // POSIX ACLs (system.posix_acl_*), enforced by the kernel: implies
  // default_permissions (docs/fuse.md, "Permissions").
  bool acl = false;
  // Seconds between the journal thread's commits (ext4's commit=; 0 or
  // unset: 5). Images without a journal ignore it.
  std::optional<uint32_t> commit;
  // FUSE worker threads (unset: kDefaultFuseThreads). 1 serves every
  // request on one thread; more lets a request that waits (an fsync, a
  // throttled write, a device read) not hold up the others, at the price
  // of a wake-up of another thread for most requests (docs/fuse.md
  // "Performance": cp -a 2-3x slower on a loaded 2-core machine).
  std::optional<uint32_t> threads;

  // ---- page cache (cache::Tunables)
  std::optional<uint64_t> cache_size;  // bytes
  std::optional<uint32_t> dirty_ratio;
  std::optional<uint32_t> dirty_background_ratio;
  std::optional<uint32_t> dirty_expire_centisecs;
  std::optional<uint32_t> dirty_writeback_centisecs;

  // ---- request queue
  std::optional<uint32_t> read_ahead_kb;
  std::optional<Scheduler> scheduler;
  std::optional<uint32_t> nomerges;  // 0, 1 or 2 as in sysfs
  std::optional<uint32_t> max_sectors_kb;

  // ---- card
  bool realtime = false;   // the card's device time is slept, not only counted
  bool durable = false;    // a card flush (fsync) also fsyncs the image file
  std::string trace_file;  // empty: no trace at mount time
  // trace_clock=card|host: the traces' timeline (docs/blockdev.md "Times");
  // unset: card in fast mode, host with realtime.
  std::optional<std::string> trace_clock;
  // tunables=FILE: read at mount and at every SIGHUP (overlay_tunables).
  std::string tunables_file;

  // ---- faults and recording (docs/fuse.md "Power cuts")
  // powercut_after=N: the card loses power after its Nth command since the
  // mount (between commands, or inside command N+1 with powercut_torn).
  std::optional<uint64_t> powercut_after;
  bool powercut_torn = false;
  // record=NAME: every card command with its data to NAME.blktrace.0
  // (blockdev/command_log.h), what `cardfs crashtest` records.
  std::string record_file;
  // Not an -o option: the card's power-on scan progress for a terminal
  // (sdcard::CardOptions::progress), set by `cardfs mount` before it forks.
  std::function<void(uint64_t done, uint64_t total)> scan_progress;
};

inline constexpr uint32_t kDefaultKernelReadAheadKb = 1024;
inline constexpr uint32_t kDefaultFuseThreads = 1;
inline constexpr uint32_t kMaxFuseThreads = 64;

// Parses the values of every `-o` given, in order (later options win).
Result<MountOptions> parse_mount_options(const std::vector<std::string>& option_args);

// The tunables (cache_size, dirty_*, read_ahead_kb, scheduler, nomerges,
// max_sectors_kb) a tunables file sets, over base: one or more options per
// line in -o syntax, '#' starts a comment. Any other option is EINVAL, as
// are the parser's own errors; base is then not changed.
Result<MountOptions> overlay_tunables(const std::string& text, MountOptions base);

// Whether the kernel checks permissions (default_permissions is passed):
// with allow_other, where other users reach the mount and only the kernel
// can check every step of a path walk, or when asked for. Without both,
// only the mounting user's processes can enter the mount, and the daemon
// checks each operation itself (one round trip less per create/unlink).
bool kernel_checks_permissions(const MountOptions& opts);

// The kernel/libfuse mount options for fuse_session_new():
// "fsname=...,subtype=cardfs[,default_permissions][,allow_other][,ro][,flags]".
std::string kernel_mount_options(const MountOptions& opts, const std::string& image_path);

const char* scheduler_name(Scheduler s);

}  // namespace cardfs::fuse
