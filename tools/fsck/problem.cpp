#include "tools/fsck/problem.h"

#include <array>

namespace cardfs::fsck {
namespace {

using P = Problem;
// Indexed by Problem; checked once below.
constexpr std::array<ProblemInfo, size_t(P::kCount)> kTable = {{
    {P::kSuperPrimaryBad, "PR_0_SB_CORRUPT", 0, "Restore it from the backup", false},
    {P::kSuperBackupBad, "PR_0_BACKUP_SB", 0, "Rewrite the backups", true},
    {P::kSuperFreeCounts, "PR_5_SB_COUNTS", 5, "Fix", true},
    {P::kSuperErrorState, "PR_0_ERROR_STATE", 0, "Clear", true},
    {P::kGroupDescBad, "PR_0_GDT_CORRUPT", 0, "Rebuild it", false},
    {P::kInodeChecksum, "PR_1_INODE_CSUM", 1, "Fix", true},
    {P::kInodeBadMode, "PR_1_BAD_MODE", 1, "Clear", false},
    {P::kInodeBadPointer, "PR_1_BAD_POINTER", 1, "Clear", false},
    {P::kInodeDupBlock, "PR_1B_DUP_BLOCK", 1, "Clone", false},
    {P::kInodeBlockCount, "PR_1_BAD_I_BLOCKS", 1, "Fix", true},
    {P::kInodeBadSize, "PR_1_BAD_I_SIZE", 1, "Fix", true},
    {P::kDirBlockChecksum, "PR_2_DIR_CSUM", 2, "Fix", true},
    {P::kDirBlockCorrupt, "PR_2_DIR_CORRUPT", 2, "Salvage", false},
    {P::kDirHole, "PR_2_DIR_HOLE", 2, "Fill", false},
    {P::kEntryBadInode, "PR_2_BAD_INO", 2, "Clear", false},
    {P::kEntryUnusedInode, "PR_2_UNUSED_INODE", 2, "Clear", false},
    {P::kEntryBadName, "PR_2_BAD_NAME", 2, "Clear", false},
    {P::kEntryFileType, "PR_2_BAD_FILETYPE", 2, "Fix", true},
    {P::kEntryDirHardLink, "PR_2_LINK_DIR", 2, "Clear", false},
    {P::kEntryDuplicateName, "PR_2_DUP_ENTRY", 2, "Clear", false},
    {P::kDirDot, "PR_2_BAD_DOT", 2, "Fix", false},
    {P::kDirDotDot, "PR_2_BAD_DOT_DOT", 2, "Fix", false},
    {P::kDirIndexBad, "PR_2_HTREE_BAD", 2, "Rebuild the index", true},
    {P::kDirIndexFlag, "PR_2_HTREE_FLAG", 2, "Clear the flag", true},
    {P::kRootNotDir, "PR_3_NO_ROOT", 1, "Fix", false},
    {P::kUnconnectedDir, "PR_3_UNCONNECTED_DIR", 3, "Connect to /lost+found", false},
    {P::kDotDotMismatch, "PR_3_BAD_DOT_DOT", 3, "Fix", false},
    {P::kNoLostFound, "PR_3_NO_LPF", 3, "Create", false},
    {P::kUnattachedInode, "PR_4_UNATTACHED_INODE", 4, "Connect to /lost+found", false},
    {P::kUnattachedEmpty, "PR_4_ZERO_LEN_INODE", 4, "Clear", true},
    {P::kLinkCount, "PR_4_BAD_REF_COUNT", 4, "Fix", true},
    {P::kBlockBitmap, "PR_5_BLOCK_BITMAP", 5, "Fix", true},
    {P::kInodeBitmap, "PR_5_INODE_BITMAP", 5, "Fix", true},
    {P::kGroupCounts, "PR_5_GROUP_COUNTS", 5, "Fix", true},
    {P::kDirLoop, "PR_3_DIR_LOOP", 3, "Connect to /lost+found", false},
    {P::kOrphanInode, "PR_0_ORPHAN_CLEAR_INODE", 0, "Clear", true},
    {P::kOrphanListBad, "PR_0_ORPHAN_LIST_BAD", 0, "Clear the list", true},
    {P::kDeletedInode, "PR_4_DELETED_INODE", 4, "Clear", true},
    // Reported, never fixed: the data is gone and only its owner can
    // rewrite it (fsck does not rewrite around it).
    {P::kUnreadableBlock, "PR_1_READ_ERROR", 1, "", false},
    {P::kJournalBad, "PR_0_JOURNAL_BAD", 0, "Clear the journal feature", false},
}};

constexpr bool table_in_order() {
  for (size_t i = 0; i < kTable.size(); ++i)
    if (size_t(kTable[i].code) != i) return false;
  return true;
}
static_assert(table_in_order(), "problem table must be indexed by Problem");

}  // namespace

const ProblemInfo& problem_info(Problem p) { return kTable[size_t(p)]; }

}  // namespace cardfs::fsck
