#include "fusefs/inode.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "fusefs/orphan.h"

namespace cardfs::fusefs {

Result<DiskInode> InodeTable::read_record(uint32_t ino) {
  if (ino == 0 || ino > ctx_.geo.inodes_count)
    return Status::error(ENOENT, "inode " + std::to_string(ino) + " out of range");
  BlockOffset at = inode_location(ctx_.geo, ctx_.groups.inode_table(ctx_.groups.group_of_inode(ino)), ino);
  CARDFS_ASSIGN_OR_RETURN(auto buf, ctx_.cache.bread(at.block));
  buf.lock_to_read();
  auto d = decode_inode(buf.data().subspan(at.offset, kInodeSize), ino, ctx_.seed);
  buf.unlock();
  if (!d.is_ok()) return ctx_.corrupt(d.status().message() + " (block " + std::to_string(at.block) + ")");
  return d;
}

Result<InodePtr> InodeTable::get(uint32_t ino, bool unlinked_ok) {
  {
    std::lock_guard lock(mu_);
    if (auto it = map_.find(ino); it != map_.end()) return it->second;
  }
  CARDFS_ASSIGN_OR_RETURN(DiskInode d, read_record(ino));
  if (d.mode == 0 || (d.links_count == 0 && !unlinked_ok))
    return Status::error(ENOENT, "inode " + std::to_string(ino) + " is not in use");
  auto inode = std::make_shared<Inode>(ino);
  inode->d = d;
  inode->type = d.mode & S_IFMT;
  // It may have been evicted with its size or map still dirty in the cache:
  // the first fdatasync then writes the metadata too.
  inode->datasync_dirty = true;
  std::lock_guard lock(mu_);
  auto [it, inserted] = map_.emplace(ino, inode);  // another thread may have won
  return it->second;
}

InodePtr InodeTable::insert_new(uint32_t ino, const DiskInode& d) {
  auto inode = std::make_shared<Inode>(ino);
  inode->d = d;
  inode->type = d.mode & S_IFMT;
  inode->record_unwritten = true;
  std::lock_guard lock(mu_);
  map_[ino] = inode;
  return inode;
}

// A new inode's first store need not read a table block whose other
// inodes are all free (typically one never used since mkfs): the record is
// overwritten whole and nothing else in the block is alive.
Result<cache::BufferRef> InodeTable::table_block_for_store(const Inode& inode, uint64_t block) {
  const uint32_t per_block = ctx_.bs / kInodeSize;
  if (inode.record_unwritten && ctx_.groups.table_block_neighbours_free(inode.ino, per_block))
    return ctx_.cache.bget_cached_or_zeroed(block);
  return ctx_.cache.bread(block);
}

Status InodeTable::store(Inode& inode) {
  std::byte rec[kInodeSize];
  {
    MutexLock lock(inode.map_mu);
    encode_inode(inode.d, inode.ino, ctx_.seed, rec);
  }
  BlockOffset at = inode_location(ctx_.geo, ctx_.groups.inode_table(ctx_.groups.group_of_inode(inode.ino)), inode.ino);
  CARDFS_ASSIGN_OR_RETURN(auto buf, table_block_for_store(inode, at.block));
  inode.record_unwritten = false;
  if (ctx_.orphans) {
    ctx_.orphans->write_record(inode.ino, rec, buf, at.offset);  // with its orphan link
  } else {
    buf.lock();
    std::memcpy(buf.data().data() + at.offset, rec, kInodeSize);
    buf.unlock();
  }
  buf.mark_dirty(at.offset, kInodeSize);
  return Status::ok();
}

Status InodeTable::erase(uint32_t ino) {
  {
    std::lock_guard lock(mu_);
    map_.erase(ino);
  }
  BlockOffset at = inode_location(ctx_.geo, ctx_.groups.inode_table(ctx_.groups.group_of_inode(ino)), ino);
  CARDFS_ASSIGN_OR_RETURN(auto buf, ctx_.cache.bread(at.block));
  buf.lock();
  std::memset(buf.data().data() + at.offset, 0, kInodeSize);
  buf.unlock();
  buf.mark_dirty(at.offset, kInodeSize);
  return Status::ok();
}

size_t InodeTable::size() {
  std::lock_guard lock(mu_);
  return map_.size();
}

size_t InodeTable::evict(size_t target, const std::function<bool(Inode&)>& evictable) {
  std::lock_guard lock(mu_);
  size_t dropped = 0;
  for (auto it = map_.begin(); it != map_.end() && map_.size() > target;) {
    // use_count 1: only the map holds it, and get() needs mu_ to hand it out.
    if (it->second.use_count() == 1 && evictable(*it->second)) {
      it = map_.erase(it);
      ++dropped;
    } else {
      ++it;
    }
  }
  return dropped;
}

std::vector<InodePtr> InodeTable::all() {
  std::lock_guard lock(mu_);
  std::vector<InodePtr> out;
  for (auto& [n, p] : map_) out.push_back(p);
  return out;
}

InodeLocks& InodeLocks::operator=(InodeLocks&& o) noexcept {
  if (this != &o) {
    unlock_all();
    held_ = std::move(o.held_);
    o.held_.clear();
  }
  return *this;
}

void InodeLocks::unlock_all() {
  for (auto it = held_.rbegin(); it != held_.rend(); ++it) (*it)->mu.unlock();
  held_.clear();
}

namespace {

// `from` without nulls and without the inodes already in `have`, sorted.
std::vector<InodePtr> fresh_in_order(std::initializer_list<InodePtr> from,
                                     const std::vector<InodePtr>& have) {
  std::vector<InodePtr> out;
  for (const InodePtr& i : from)
    if (i && std::find(have.begin(), have.end(), i) == have.end() &&
        std::find(out.begin(), out.end(), i) == out.end())
      out.push_back(i);
  std::sort(out.begin(), out.end(), [](const InodePtr& a, const InodePtr& b) {
    return lock_before(*a, *b);
  });
  return out;
}

}  // namespace

void InodeLocks::lock_all(std::initializer_list<InodePtr> inodes) {
  std::vector<InodePtr> more = fresh_in_order(inodes, held_);
  std::vector<InodePtr> want = held_;
  unlock_all();
  want.insert(want.end(), more.begin(), more.end());
  std::sort(want.begin(), want.end(), [](const InodePtr& a, const InodePtr& b) {
    return lock_before(*a, *b);
  });
  for (const InodePtr& i : want) i->mu.lock();
  held_ = std::move(want);
}

bool InodeLocks::add(std::initializer_list<InodePtr> inodes) {
  std::vector<InodePtr> more = fresh_in_order(inodes, held_);
  if (more.empty()) return true;
  if (!held_.empty() && !lock_before(*held_.back(), *more.front())) {
    lock_all(inodes);
    return false;
  }
  for (const InodePtr& i : more) i->mu.lock();
  held_.insert(held_.end(), more.begin(), more.end());
  return true;
}

}  // namespace cardfs::fusefs
