#include "fusefs/directory.h"

#include "base/log.h"
#include "fusefs/block_map.h"
#include "fusefs/dir_block.h"
#include "fusefs/dir_index.h"

namespace cardfs::fusefs {

Status Directory::init(Context& ctx, Inode& dir, uint32_t parent) {
  Mapped m;
  {
    MutexLock lock(dir.map_mu);
    CARDFS_ASSIGN_OR_RETURN(m, map_block_locked(ctx, dir, 0, true));
  }
  CARDFS_ASSIGN_OR_RETURN(auto buf, ctx.cache.bget_zeroed(m.block));
  buf.lock();
  dir_block::init_empty(buf.data());
  (void)dir_block::add(buf.data(), ".", dir.ino, kFtDir);
  (void)dir_block::add(buf.data(), "..", parent, kFtDir);
  dir_block::seal(buf.data(), dir.ino, ctx.seed);
  buf.unlock();
  buf.mark_dirty();
  dir.d.size = ctx.bs;
  return Status::ok();
}

Result<cache::BufferRef> Directory::read_block(uint64_t fb) {
  if (fb >= block_count())
    return ctx_.corrupt("directory " + std::to_string(dir_.ino) + ": block " +
                        std::to_string(fb) + " past its size");
  Mapped m;
  {
    MutexLock lock(dir_.map_mu);
    CARDFS_ASSIGN_OR_RETURN(m, map_block_locked(ctx_, dir_, fb, false));
  }
  if (!m.block)
    return ctx_.corrupt("directory " + std::to_string(dir_.ino) + ": hole at block " +
                        std::to_string(fb));
  if (visits_) ++*visits_;
  CARDFS_ASSIGN_OR_RETURN(auto buf, ctx_.cache.bread(m.block));
  // Checked once per stay in the cache: the bytes change after that only
  // through this class, which keeps the tail's checksum current.
  if (buf.verified()) return buf;
  buf.lock_to_read();
  Status st = dir_block::verify(buf.data(), dir_.ino, ctx_.seed, {});
  if (st.is_ok()) buf.set_verified();
  buf.unlock();
  if (!st.is_ok()) {
    // The name is built only here: lookups call this for every block.
    st = st.with_context("directory " + std::to_string(dir_.ino) + " block " +
                         std::to_string(fb) + " (disk block " + std::to_string(m.block) + ")");
    ctx_.report(st);
    return st;
  }
  return buf;
}

Result<std::pair<uint64_t, cache::BufferRef>> Directory::append_block() {
  const uint64_t fb = block_count();
  Mapped m;
  {
    MutexLock lock(dir_.map_mu);
    CARDFS_ASSIGN_OR_RETURN(m, map_block_locked(ctx_, dir_, fb, true));
  }
  CARDFS_ASSIGN_OR_RETURN(auto buf, ctx_.cache.bget_zeroed(m.block));
  buf.lock();
  dir_block::init_empty(buf.data());
  dir_block::seal(buf.data(), dir_.ino, ctx_.seed);
  buf.unlock();
  buf.mark_dirty();
  dir_.d.size += ctx_.bs;
  return std::pair{fb, std::move(buf)};
}

void Directory::seal(cache::BufferRef& buf) {
  dir_block::seal(buf.data(), dir_.ino, ctx_.seed);
}

Result<std::optional<DirHit>> Directory::find_in_block(uint64_t fb, std::string_view name,
                                                       DirSlot* slot) {
  CARDFS_ASSIGN_OR_RETURN(auto buf, read_block(fb));
  const bool want_room = slot && !slot->found();
  buf.lock_to_read();
  auto r = dir_block::find_with_room(buf.data(), name, want_room ? dir_rec_len(name.size()) : 0);
  buf.unlock();
  if (!r.is_ok()) return ctx_.corrupt("directory " + std::to_string(dir_.ino) + " block " +
                                      std::to_string(fb) + ": " + r.status().message());
  if (want_room && r->room != dir_block::kNoRecord) *slot = DirSlot{fb, r->room};
  if (!r->hit) return std::optional<DirHit>{};
  return std::optional<DirHit>{DirHit{r->hit->inode, r->hit->type, fb, r->hit->offset, r->prev}};
}

Result<bool> Directory::add_to_block(uint64_t fb, std::string_view name, uint32_t ino,
                                     uint8_t type, uint32_t room) {
  CARDFS_ASSIGN_OR_RETURN(auto buf, read_block(fb));
  buf.lock();
  // read_block verified the block's tail, and every change since kept it
  // current: the add patches the checksum with what it changed.
  auto r = room != dir_block::kNoRecord
               ? dir_block::add_at(buf.data(), room, name, ino, type, /*sealed=*/true)
               : dir_block::add(buf.data(), name, ino, type, /*sealed=*/true);
  buf.unlock();
  if (!r.is_ok()) return ctx_.corrupt("directory " + std::to_string(dir_.ino) + " block " +
                                      std::to_string(fb) + ": " + r.status().message());
  if (*r) buf.mark_dirty();
  return *r;
}

Result<std::optional<DirHit>> Directory::find_linear(std::string_view name, DirSlot* slot) {
  if (slot) *slot = {};
  for (uint64_t fb = 0; fb < block_count(); ++fb) {
    CARDFS_ASSIGN_OR_RETURN(auto hit, find_in_block(fb, name, slot));
    if (hit) return hit;
  }
  return std::optional<DirHit>{};
}

Status Directory::add_linear(std::string_view name, uint32_t ino, uint8_t type) {
  for (uint64_t fb = 0; fb < block_count(); ++fb) {
    CARDFS_ASSIGN_OR_RETURN(bool added, add_to_block(fb, name, ino, type));
    if (added) return Status::ok();
  }
  if (use_index_ && block_count() == 1) {
    DirIndex index(*this);
    return index.make_indexed_and_add(name, ino, type);
  }
  CARDFS_ASSIGN_OR_RETURN(auto fresh, append_block());
  fresh.second.lock();
  auto r = dir_block::add(fresh.second.data(), name, ino, type);
  seal(fresh.second);
  fresh.second.unlock();
  fresh.second.mark_dirty();
  return r.status();
}

void Directory::drop_index(const std::string& why) {
  changing();  // where names go changes with the layout
  ctx_.report(Status::error(EIO, "directory " + std::to_string(dir_.ino) + ": hash index " +
                                     "invalid (" + why + "); using it as a linear directory"));
  dir_.d.flags &= ~kInodeFlagIndex;
}

Result<std::optional<DirHit>> Directory::find(std::string_view name, DirSlot* slot) {
  // The kernel's LOOKUP that failed just before this create: nothing has
  // changed the entries since, so the name is still absent and goes where
  // that walk found room (the same leaf, record and answer as a new walk).
  if (const AbsentName* a = dir_.absent.get();
      a && a->at_change == dir_.dir_changes && a->name == name) {
    if (slot) *slot = DirSlot{a->file_block, a->room};
    return std::optional<DirHit>{};
  }
  // Where the name would go is found in the same walk, whether or not the
  // caller asked: a failed lookup's create needs it next.
  DirSlot room;
  auto r = find_walk(name, &room);
  if (slot) *slot = room;
  if (r.is_ok() && !*r) {
    if (!dir_.absent) dir_.absent = std::make_unique<AbsentName>();
    AbsentName& a = *dir_.absent;
    a.at_change = dir_.dir_changes;
    a.name.assign(name);
    a.file_block = room.file_block;
    a.room = room.room;
  }
  return r;
}

Result<std::optional<DirHit>> Directory::find_walk(std::string_view name, DirSlot* slot) {
  if (indexed()) {
    DirIndex index(*this);
    auto r = index.find(name, slot);
    if (r.is_ok() || !index.invalid()) return r;
    drop_index(r.status().message());
  }
  return find_linear(name, slot);
}

Status Directory::add(std::string_view name, uint32_t ino, uint8_t type, const DirSlot* slot) {
  changing();
  if (slot && slot->found()) {
    // Where the name's leaf (or the first linear block with room) had room
    // when find walked it: the place add would find, without its walks.
    CARDFS_ASSIGN_OR_RETURN(bool added, add_to_block(slot->file_block, name, ino, type, slot->room));
    if (added) return Status::ok();
  }
  if (indexed()) {
    DirIndex index(*this);
    Status st = index.add(name, ino, type);
    if (st.is_ok() || !index.invalid()) return st;
    drop_index(st.message());
  }
  return add_linear(name, ino, type);
}

Status Directory::remove(const DirHit& hit) {
  changing();
  CARDFS_ASSIGN_OR_RETURN(auto buf, read_block(hit.file_block));
  buf.lock();
  Status st = dir_block::remove_at(buf.data(), hit.offset, hit.prev, /*sealed=*/true);
  buf.unlock();
  if (!st.is_ok()) return ctx_.corrupt(st.message());
  buf.mark_dirty();
  return Status::ok();
}

Status Directory::retarget(const DirHit& hit, uint32_t ino, uint8_t type) {
  changing();
  CARDFS_ASSIGN_OR_RETURN(auto buf, read_block(hit.file_block));
  buf.lock();
  dir_block::set_inode(buf.data(), hit.offset, ino, type, /*sealed=*/true);
  buf.unlock();
  buf.mark_dirty();
  return Status::ok();
}

Status Directory::set_parent(uint32_t parent) {
  CARDFS_ASSIGN_OR_RETURN(auto hit, find_in_block(0, ".."));
  if (!hit) return ctx_.corrupt("directory " + std::to_string(dir_.ino) + " has no '..'");
  return retarget(*hit, parent, kFtDir);
}

Result<uint32_t> Directory::parent() {
  CARDFS_ASSIGN_OR_RETURN(auto hit, find_in_block(0, ".."));
  if (!hit) return ctx_.corrupt("directory " + std::to_string(dir_.ino) + " has no '..'");
  return hit->ino;
}

Result<bool> Directory::is_empty() {
  for (uint64_t fb = 0; fb < block_count(); ++fb) {
    CARDFS_ASSIGN_OR_RETURN(auto buf, read_block(fb));
    bool empty = true;
    buf.lock_to_read();
    Status st = dir_block::walk(buf.data(), [&](const DirRecord& r) {
      empty = !r.inode || r.name == "." || r.name == "..";
      return empty;
    });
    buf.unlock();
    if (!st.is_ok()) return ctx_.corrupt(st.message());
    if (!empty) return false;
  }
  return true;
}

}  // namespace cardfs::fusefs
