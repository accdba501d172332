#include "fusefs/orphan.h"

#include <cstring>
#include <string>

#include "base/coding.h"
#include "base/log.h"

namespace cardfs::fusefs {

BlockOffset OrphanList::location(uint32_t ino) const {
  return inode_location(ctx_.geo, ctx_.groups.inode_table(ctx_.groups.group_of_inode(ino)), ino);
}

Result<uint32_t> OrphanList::read_next(uint32_t ino) const {
  const BlockOffset at = location(ino);
  CARDFS_ASSIGN_OR_RETURN(auto buf, ctx_.cache.bread(at.block));
  buf.lock();
  auto d = decode_inode(buf.data().subspan(at.offset, kInodeSize), ino, ctx_.seed);
  buf.unlock();
  if (!d.is_ok()) return d.status();
  if (d->mode == 0) return Status::error(EIO, "orphan inode " + std::to_string(ino) + " is free");
  return d->next_orphan;
}

void OrphanList::load(uint32_t head) {
  std::lock_guard lock(mu_);
  for (uint32_t ino = head; ino != 0;) {
    std::string bad;
    if (ino < kFirstIno || ino > ctx_.geo.inodes_count) bad = "is out of range";
    else if (where_.count(ino)) bad = "appears twice (a loop)";
    if (!bad.empty()) {
      (void)ctx_.corrupt("orphan list: inode " + std::to_string(ino) + " " + bad);
      return;
    }
    auto next = read_next(ino);
    if (!next.is_ok()) {
      (void)ctx_.corrupt("orphan list: " + next.status().message());
      return;
    }
    where_[ino] = list_.insert(list_.end(), ino);
    ino = *next;
  }
}

bool OrphanList::add(uint32_t ino) {
  std::lock_guard lock(mu_);
  if (where_.count(ino)) return false;
  list_.push_front(ino);
  where_[ino] = list_.begin();
  return true;
}

Status OrphanList::remove(uint32_t ino) {
  uint32_t prev = 0;
  {
    std::lock_guard lock(mu_);
    auto it = where_.find(ino);
    if (it == where_.end()) return Status::ok();
    if (it->second != list_.begin()) prev = *std::prev(it->second);
    list_.erase(it->second);
    where_.erase(it);
  }
  if (!prev) return Status::ok();  // the head moved: the caller writes the superblock
  // The predecessor's record now links past ino. Its block is read outside
  // the lock; the link written is whatever the list holds once it is held
  // again, so concurrent removals converge on the list.
  const BlockOffset at = location(prev);
  CARDFS_ASSIGN_OR_RETURN(auto buf, ctx_.cache.bread(at.block));
  std::lock_guard lock(mu_);
  if (!where_.count(prev)) return Status::ok();  // freed meanwhile: its record goes too
  buf.lock();
  set_record_next_orphan(buf.data().subspan(at.offset, kInodeSize), prev, ctx_.seed,
                         next_locked(prev));
  buf.unlock();
  buf.mark_dirty(at.offset, kInodeSize);
  return Status::ok();
}

uint32_t OrphanList::next_locked(uint32_t ino) const {
  auto it = where_.find(ino);
  if (it == where_.end()) return 0;
  auto next = std::next(it->second);
  return next == list_.end() ? 0 : *next;
}

bool OrphanList::contains(uint32_t ino) const {
  std::lock_guard lock(mu_);
  return where_.count(ino) != 0;
}

uint32_t OrphanList::head() const {
  std::lock_guard lock(mu_);
  return list_.empty() ? 0 : list_.front();
}

std::vector<uint32_t> OrphanList::inodes() const {
  std::lock_guard lock(mu_);
  return {list_.begin(), list_.end()};
}

void OrphanList::write_record(uint32_t ino, std::span<std::byte> rec, cache::BufferRef& buf,
                              uint32_t offset) const {
  std::lock_guard lock(mu_);
  // rec comes from encode_inode, checksummed over the link the inode's
  // copy holds; that link is almost always the list's already (0 for an
  // inode off the list), and then the record is not checksummed again.
  if (const uint32_t next = next_locked(ino); record_next_orphan(rec) != next)
    set_record_next_orphan(rec, ino, ctx_.seed, next);
  buf.lock();
  std::memcpy(buf.data().data() + offset, rec.data(), kInodeSize);
  buf.unlock();
}

}  // namespace cardfs::fusefs
