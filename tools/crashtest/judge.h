// Judging one crash state: the filesystem recovers on the card as it would
// in the field, and the user's CHECK runs in the mount.
//
// Recovery, by filesystem (docs/crashtest.md):
// - cardfs with a journal: the mount replays it; afterwards `fsck -n` must
//   find the filesystem consistent;
// - cardfs without one (-O ^journal): `fsck -p` first, as a boot does
//   (exit 4 or more: it could not repair), then the mount, and `fsck -n`
//   after the unmount;
// - the others (over the card's export and a loop device): exFAT (and
//   FAT) get their checker's automatic repair first (`fsck.exfat -p`,
//   exit 4 or more: it could not repair), as a boot does; ext4, xfs,
//   btrfs recover at mount (journal, log, last commit). After the unmount
//   their read-only checker on the card's device (`e2fsck -fn`,
//   `fsck.exfat -n`, `xfs_repair -n`, `btrfs check --readonly`:
//   workload::FsTools) must find it clean.
// CHECK runs through `sh -c` in the mount point (CARDFS_MNT set, and
// CARDFS_LAST_MARK: the last marker the workload wrote before the cut, so
// it can ask for everything committed by then), bounded
// by the timeout; its output is kept. Each state has its own directory, so
// states are judged in parallel.
#pragma once

#include <chrono>
#include <string>

#include "base/status.h"
#include "tools/workload/fs_on_card.h"

namespace cardfs::crashtest {

enum class Outcome { kPass, kCheckFailed, kFsInconsistent, kMountFailed, kTimeout, kError };
const char* outcome_name(Outcome o);  // "pass", "check failed", ...

struct Verdict {
  Outcome outcome = Outcome::kError;
  int check_exit = -1;      // CHECK's exit status (-1: not run)
  std::string check_output; // what CHECK printed (stdout and stderr, the last 4 KiB)
  std::string detail;       // the recovery's or the fsck's message when that failed
  std::string repair;       // the repair run before the mount ("fsck.exfat -p"; "": none, the mount recovers)
  int repair_exit = -1;     // its exit status (0: nothing to do; 1: repaired; 4+: could not; -1: not run)
  std::string fsck;         // the checker run after the recovery ("e2fsck -fn"; "": none for this fs)
  int fsck_exit = -1;       // its exit status (0: clean; -1: not run)
};

struct JudgeOptions {
  workload::CardSpec spec;  // spec.dir: the state's directory with card.img
  std::string check;
  std::chrono::seconds timeout{60};
  bool journal = true;      // cardfs: the image has a journal
  std::string last_mark = {};  // the last marker before the cut: CARDFS_LAST_MARK for CHECK
};

// Never fails itself: what went wrong is the verdict (kError with detail).
Verdict judge_state(const JudgeOptions& o);

}  // namespace cardfs::crashtest
