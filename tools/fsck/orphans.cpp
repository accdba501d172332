// The orphan list first (e2fsck's release_orphan_inodes): inodes whose last
// link went while they were in use, left on the superblock's last_orphan
// chain by a crash. With -y/-p they are cleared before pass 1 (their blocks
// and inode bits are then freed by pass 5); under -n they are only noted:
// the next read-write mount frees them, as it would without fsck, so they
// are not errors and pass 4 leaves them alone.
#include <sys/stat.h>

#include <cstdio>
#include <set>

#include "tools/fsck/checker.h"

namespace cardfs::fsck {

using namespace fusefs;

namespace {

std::string describe(uint32_t ino, const DiskInode& d) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "inode %u (uid=%u, gid=%u, mode=0%o, size=%llu)", ino, d.uid,
                d.gid, unsigned(d.mode), (unsigned long long)d.size);
  return buf;
}

}  // namespace

// The chain from the superblock, head first; stops at the first link that
// is out of range, loops or names a free inode (*broken says which).
Result<std::vector<uint32_t>> Checker::orphan_chain(std::string* broken) {
  std::vector<uint32_t> chain;
  std::set<uint32_t> seen;
  for (uint32_t ino = sb_.last_orphan; ino != 0;) {
    if (ino < kFirstIno || ino > sb_.inodes_count) {
      *broken = "inode " + std::to_string(ino) + " is out of range";
      break;
    }
    if (!seen.insert(ino).second) {
      *broken = "inode " + std::to_string(ino) + " appears twice";
      break;
    }
    CARDFS_ASSIGN_OR_RETURN(DiskInode d, read_inode(ino));
    if (d.mode == 0) {
      *broken = "inode " + std::to_string(ino) + " is free";
      break;
    }
    chain.push_back(ino);
    ino = d.next_orphan;
  }
  return chain;
}

Status Checker::release_orphans() {
  if (sb_.last_orphan == 0 && !(sb_.feature_ro_compat & kRoCompatOrphanPresent)) return Status::ok();
  std::string broken;
  CARDFS_ASSIGN_OR_RETURN(std::vector<uint32_t> chain, orphan_chain(&broken));
  bool clear_list = true;
  if (!broken.empty())
    clear_list = ask(Problem::kOrphanListBad, "The orphan list is damaged: " + broken +
                                                  " (unlinked inodes after it are found by pass 4).");
  for (uint32_t ino : chain) {
    CARDFS_ASSIGN_OR_RETURN(DiskInode d, read_inode(ino));
    if (d.links_count > 0) continue;  // linked again: only taken off the list
    if (o_.mode == Mode::kNo) {
      pending_orphans_.insert(ino);
      say("Orphan " + describe(ino, d) + " is freed by the next read-write mount.");
      continue;
    }
    if (ask(Problem::kOrphanInode, "Clearing orphaned " + describe(ino, d) + ".")) {
      CARDFS_RETURN_IF_ERROR(write_inode(ino, DiskInode{}));
    } else {
      clear_list = false;
    }
  }
  if (o_.mode == Mode::kNo || !clear_list) return Status::ok();
  sb_.last_orphan = 0;
  sb_.feature_ro_compat &= ~kRoCompatOrphanPresent;
  rewrite_super_ = true;
  return Status::ok();
}

}  // namespace cardfs::fsck
