// Directories: readdir and readdirplus with the filesystem's cookies as
// offsets, fsyncdir. opendir/releasedir keep no state (cookies resume).
#include <string>
#include <vector>

#include "fusefs/fuse/fuse_fs.h"
#include "fusefs/fuse/waiting_ops.h"

namespace cardfs::fuse {
namespace {

struct Listed {
  std::string name;
  fusefs::Ino ino;
  uint8_t type;
  uint64_t cookie;  // its own position (shared by a group, see filesystem.h)
  uint64_t next_cookie;
  size_t need;      // bytes it takes in the reply
};

bool is_dot_or_dotdot(const std::string& n) { return n == "." || n == ".."; }

// The on-disk file type (ext2's FT_* numbering) as st_mode's type bits.
uint32_t mode_of_file_type(uint8_t ft) {
  switch (ft) {
    case fusefs::kFtRegular: return S_IFREG;
    case fusefs::kFtDir: return S_IFDIR;
    case fusefs::kFtChar: return S_IFCHR;
    case fusefs::kFtBlock: return S_IFBLK;
    case fusefs::kFtFifo: return S_IFIFO;
    case fusefs::kFtSocket: return S_IFSOCK;
    case fusefs::kFtSymlink: return S_IFLNK;
    default: return 0;  // DT_UNKNOWN: readers stat the entry
  }
}

// Entries from cookie on, about as many as a reply of `size` bytes holds.
// The Filesystem calls fill under the directory's lock, so names are only
// copied here; attributes are fetched after it returns. Names sharing one
// position (a group) go into a reply whole or not at all; EINVAL when not
// even the first entry or group fits (as getdents with a small buffer).
Result<std::vector<Listed>> list_dir(FuseFs& self, fuse_req_t req, fuse_ino_t ino, off_t cookie,
                                     size_t size, bool plus) {
  std::vector<Listed> out;
  size_t used = 0;
  bool full = false;
  Status st = self.fs().readdir(FuseFs::to_fs(ino), uint64_t(cookie), [&](const fusefs::DirEntry& d) {
    std::string name(d.name);
    size_t need = plus ? fuse_add_direntry_plus(req, nullptr, 0, name.c_str(), nullptr, 0)
                       : fuse_add_direntry(req, nullptr, 0, name.c_str(), nullptr, 0);
    if (used + need > size) {
      for (; !out.empty() && out.back().cookie == d.cookie; out.pop_back()) used -= out.back().need;
      full = true;
      return false;
    }
    used += need;
    out.push_back({std::move(name), d.ino, d.type, d.cookie, d.next_cookie, need});
    return true;
  });
  if (!st.is_ok()) return st;
  if (full && out.empty()) return Status::error(EINVAL, "reply buffer too small for the next entries");
  return out;
}

void reply_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off) {
  FuseFs& self = fuse_fs(req);
  auto listed = list_dir(self, req, ino, off, size, false);
  if (!listed.is_ok()) return reply_status(req, listed.status());
  std::vector<char> buf(size);
  size_t pos = 0;
  for (const Listed& d : *listed) {
    struct stat st {};
    st.st_ino = d.ino;
    st.st_mode = mode_of_file_type(d.type);
    size_t n = fuse_add_direntry(req, buf.data() + pos, size - pos, d.name.c_str(), &st,
                                 off_t(d.next_cookie));
    if (n > size - pos) break;
    pos += n;
  }
  reply::buf(req, buf.data(), pos);
}

// readdirplus hands the kernel an entry per name, each counting a lookup;
// whatever does not reach the kernel is forgotten again. A caller who may
// not search the directory gets names only (the kernel then caches no
// entry under it that a lookup would have refused).
void reply_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off) {
  FuseFs& self = fuse_fs(req);
  auto listed = list_dir(self, req, ino, off, size, true);
  if (!listed.is_ok()) return reply_status(req, listed.status());
  bool entries = check_access(req, ino, kMayExec).is_ok();
  std::vector<char> buf(size);
  std::vector<fusefs::Ino> counted;
  size_t pos = 0;
  for (const Listed& d : *listed) {
    fuse_entry_param e{};
    // The kernel takes no reference on an entry with ino 0 (. and ..).
    bool counts = entries && !is_dot_or_dotdot(d.name);
    if (counts) {
      auto a = self.fs().lookup(FuseFs::to_fs(ino), d.name);
      if (!a.is_ok()) continue;  // removed since the listing
      e = self.entry_of(*a);
    } else {
      e.attr.st_ino = d.ino;
      e.attr.st_mode = mode_of_file_type(d.type);
    }
    size_t n = fuse_add_direntry_plus(req, buf.data() + pos, size - pos, d.name.c_str(), &e,
                                      off_t(d.next_cookie));
    if (n > size - pos) {
      if (counts) self.fs().forget(FuseFs::to_fs(e.ino), 1);
      break;
    }
    pos += n;
    if (counts) counted.push_back(FuseFs::to_fs(e.ino));
  }
  if (reply::buf(req, buf.data(), pos) != 0)
    for (fusefs::Ino i : counted) self.fs().forget(i, 1);
}

// opendir(2) reads the directory: read permission, when the daemon checks.
void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (Status st = check_access(req, ino, kMayRead); !st.is_ok()) return reply_status(req, st);
  reply::open(req, fi);
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  reply_readdir(req, ino, size, off);
}

void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  reply_readdirplus(req, ino, size, off);
}

void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info*) {
  reply_status(req, fuse_fs(req).fs().fsync(FuseFs::to_fs(ino), datasync != 0));
}

}  // namespace

void add_dir_operations(fuse_lowlevel_ops& o) {
  o.opendir = guard<op_opendir>;
  // A listing takes a journal handle (atime): while a commit runs it
  // waits on a fuse-wait worker (waiting_ops.h).
  o.readdir = guard_waiting<routed<op_readdir, control_readdir>, DuringCommit>;
  o.readdirplus = guard_waiting<routed<op_readdirplus, control_readdirplus>, DuringCommit>;
  o.fsyncdir = guard_waiting<routed<op_fsyncdir, 0>>;
}

}  // namespace cardfs::fuse
