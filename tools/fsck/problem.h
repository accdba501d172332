// The table of problems fsck knows: each has a stable code, the pass that
// finds it, what fixing it does, and whether preen (-p) may fix it alone.
// A Finding is one occurrence: the sentence naming inode, block or path,
// and whether it was fixed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace cardfs::fsck {

enum class Problem : uint16_t {
  kSuperPrimaryBad,
  kSuperBackupBad,
  kSuperFreeCounts,
  kSuperErrorState,
  kGroupDescBad,
  kInodeChecksum,
  kInodeBadMode,
  kInodeBadPointer,
  kInodeDupBlock,
  kInodeBlockCount,
  kInodeBadSize,
  kDirBlockChecksum,
  kDirBlockCorrupt,
  kDirHole,
  kEntryBadInode,
  kEntryUnusedInode,
  kEntryBadName,
  kEntryFileType,
  kEntryDirHardLink,
  kEntryDuplicateName,
  kDirDot,
  kDirDotDot,
  kDirIndexBad,
  kDirIndexFlag,
  kRootNotDir,
  kUnconnectedDir,
  kDotDotMismatch,
  kNoLostFound,
  kUnattachedInode,
  kUnattachedEmpty,
  kLinkCount,
  kBlockBitmap,
  kInodeBitmap,
  kGroupCounts,
  kDirLoop,
  kOrphanInode,
  kOrphanListBad,
  kDeletedInode,
  kUnreadableBlock,
  kJournalBad,
  kCount,
};

struct ProblemInfo {
  Problem code;
  const char* id;   // stable name, e.g. "PR_1_BAD_POINTER" (printed with -v and in JSON)
  int pass;         // 0: superblock and descriptors
  const char* fix;  // the question asked: "Clear", "Fix", "Reconnect" ...
  bool preen;       // safe to fix without asking under -p
};

const ProblemInfo& problem_info(Problem p);

struct Finding {
  Problem code;
  std::string message;  // one sentence naming the inode, block or path
  bool fixed = false;
};

}  // namespace cardfs::fsck
