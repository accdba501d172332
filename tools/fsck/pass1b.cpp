// Pass 1B: blocks claimed by two inodes (or twice by one). As e2fsck's
// passes 1B-1D, the later claimant gets its own copy of the block; pass 1
// did not descend into a shared indirect block for it, so the copy's
// pointers are walked here: blocks nobody owns are claimed, blocks owned
// already (the first claimant's subtree) are copied in turn. Each step
// claims a fresh block and goes one level down, so it ends.
#include <set>
#include <span>

#include "base/coding.h"
#include "tools/fsck/checker.h"

namespace cardfs::fsck {

using namespace fusefs;

namespace {

// Copies shared blocks for one inode.
struct Cloner {
  Checker& c;
  uint32_t ino;
  uint64_t copied = 0;   // blocks copied
  uint64_t cleared = 0;  // pointers cleared (out of range, or no space)

  // A copy of `block` (of `level`) owned by ino; 0 when no block is free.
  Result<uint32_t> copy(int level, uint32_t block) {
    const uint64_t fresh = c.allocate_block(ino);
    if (!fresh) return uint32_t(0);
    CARDFS_ASSIGN_OR_RETURN(auto data, c.read_block(block));
    if (level > 0) CARDFS_RETURN_IF_ERROR(claim_children(level, data));
    CARDFS_RETURN_IF_ERROR(c.write_block(fresh, data));
    ++copied;
    return uint32_t(fresh);
  }

  // The pointers of an indirect block of `level` that ino now owns alone.
  Status claim_children(int level, std::vector<std::byte>& data) {
    for (uint32_t i = 0; i < c.bs_ / 4; ++i) {
      const uint32_t raw = get_u32(data.data() + 4 * i);
      if (raw == 0) continue;
      // Data pointers keep their unwritten mark on the copy.
      const DataPointer dp = decode_data_pointer(raw, level == 1 && c.unwritten());
      const uint32_t child = uint32_t(dp.block), mark = dp.unwritten ? kUnwrittenBit : 0;
      uint32_t now = child;
      if (!c.valid_data_block(child)) {
        now = 0;
      } else if (c.owner_[child] == kOwnerFree) {
        c.owner_[child] = ino;
        if (level > 1) CARDFS_RETURN_IF_ERROR(walk_owned(level - 1, child));
      } else {
        CARDFS_ASSIGN_OR_RETURN(now, copy(level - 1, child));
      }
      if (now == child) continue;
      if (now == 0) ++cleared;
      put_u32(data.data() + 4 * i, now ? now | mark : 0);
    }
    return Status::ok();
  }

  // An indirect block ino has just claimed: its children, in place.
  Status walk_owned(int level, uint32_t block) {
    CARDFS_ASSIGN_OR_RETURN(auto data, c.read_block(block));
    const auto before = data;
    CARDFS_RETURN_IF_ERROR(claim_children(level, data));
    return data == before ? Status::ok() : c.write_block(block, data);
  }
};

Status set_pointer(Checker& c, uint32_t ino, const PointerRef& ref, uint32_t value) {
  if (ref.container == 0) {
    CARDFS_ASSIGN_OR_RETURN(DiskInode d, c.read_inode(ino));
    d.block[ref.slot] = value;
    return c.write_inode(ino, d);
  }
  CARDFS_ASSIGN_OR_RETURN(auto blk, c.read_block(ref.container));
  put_u32(blk.data() + 4 * ref.slot, value);
  return c.write_block(ref.container, blk);
}

}  // namespace

// One finding per inode, as e2fsck: its shared blocks (the first few
// named) and the inodes that claimed them first.
static std::string shared_message(const Checker& c, std::span<const Checker::DupClaim> claims) {
  const uint32_t ino = claims[0].ino;
  std::set<uint32_t> others;
  std::string blocks;
  bool below = false;
  for (size_t i = 0; i < claims.size(); ++i) {
    others.insert(c.owner_[claims[i].block]);
    below |= claims[i].ref.level > 0;
    if (i < 4) blocks += (i ? ", " : "") + pointer_name(claims[i].ref) + " at " + std::to_string(claims[i].block);
    else if (i == 4) blocks += ", ...";
  }
  std::string by;
  for (uint32_t o : others) by += (by.empty() ? "inode " : " and inode ") + std::to_string(o);
  const std::string n = std::to_string(claims.size());
  return "Inode " + std::to_string(ino) + " has " + n + (claims.size() > 1 ? " blocks" : " block") +
         " claimed first by " + by + " (" + blocks + "): inode " + std::to_string(ino) + " gets " +
         (claims.size() > 1 ? "copies" : "a copy") + " of its own" + (below ? ", with the blocks below." : ".");
}

Status Checker::pass1b() {
  if (!dups_.empty()) header("Pass 1B: Rescanning for multiply-claimed blocks");
  std::vector<uint32_t> resolved;  // inodes whose shared blocks were all copied
  for (size_t at = 0, end = 0; at < dups_.size(); at = end) {
    const uint32_t ino = dups_[at].ino;
    while (end < dups_.size() && dups_[end].ino == ino) ++end;  // pass 1 added them in inode order
    const std::span<const DupClaim> claims(dups_.data() + at, end - at);
    if (!ask(Problem::kInodeDupBlock, shared_message(*this, claims))) continue;
    Cloner cl{*this, ino};
    bool all = true;
    for (const DupClaim& dup : claims) {
      CARDFS_ASSIGN_OR_RETURN(uint32_t copy, cl.copy(dup.ref.level, dup.block));
      if (!copy) {
        say("No free block to copy block " + std::to_string(dup.block) + " into: inode " + std::to_string(ino) +
            "'s " + pointer_name(dup.ref) + " is cleared.");
        all = false;
      }
      const uint32_t mark = copy && dup.ref.unwritten ? kUnwrittenBit : 0;
      CARDFS_RETURN_IF_ERROR(set_pointer(*this, ino, dup.ref, copy | mark));
    }
    if (!all) report().findings.back().fixed = false;
    if (cl.copied > claims.size() || cl.cleared)
      say("Copied " + std::to_string(cl.copied) + " blocks for inode " + std::to_string(ino) +
          (cl.cleared ? "; " + std::to_string(cl.cleared) + " pointers in them cleared" : "") + ".");
    resolved.push_back(ino);
  }
  // Each indirect block named here has one owner now (pass 1 only clears
  // inside blocks the inode claimed first, which stay its own).
  for (const PointerRef& r : late_clears_) {
    CARDFS_ASSIGN_OR_RETURN(auto blk, read_block(r.container));
    put_u32(blk.data() + 4 * r.slot, 0);
    CARDFS_RETURN_IF_ERROR(write_block(r.container, blk));
  }
  for (uint32_t ino : resolved) CARDFS_RETURN_IF_ERROR(recheck_counts(ino));
  return Status::ok();
}

}  // namespace cardfs::fsck
