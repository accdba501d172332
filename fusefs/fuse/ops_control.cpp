// The control directory's side of the operations: .cardfs/ is read-only as
// a directory; its files are generated at open (one snapshot per open) and
// tunables take one value per write, as sysfs attributes do.
#include <memory>
#include <vector>

#include "fusefs/fuse/fuse_fs.h"

namespace cardfs::fuse {

void control_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  FuseFs& self = fuse_fs(req);
  const ControlTree& ctl = self.control();
  std::optional<ControlTree::Entry> e =
      parent == FUSE_ROOT_ID ? ctl.stat(ctl.root_ino()) : ctl.lookup(parent, name);
  if (!e) return reply_errno(req, ENOENT);
  fuse_entry_param p = self.control_entry(*e);
  reply::entry(req, &p);
}

void control_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  FuseFs& self = fuse_fs(req);
  auto e = self.control().stat(ino);
  if (!e) return reply_errno(req, ENOENT);
  struct stat st = self.control_stat(*e);
  reply::attr(req, &st, 0);
}

// Only the truncate of an O_TRUNC open ("echo 20 > file") is accepted.
void control_setattr(fuse_req_t req, fuse_ino_t ino, struct stat*, int to_set, fuse_file_info*) {
  if (to_set & ~(FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_MTIME |
                 FUSE_SET_ATTR_CTIME))
    return reply_errno(req, EPERM);
  control_getattr(req, ino, nullptr);
}

void control_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  FuseFs& self = fuse_fs(req);
  auto e = self.control().stat(ino);
  if (!e) return reply_errno(req, ENOENT);
  if (e->is_dir) return reply_errno(req, EISDIR);
  auto of = std::make_unique<OpenFile>();
  of->flags = fi->flags;
  if ((fi->flags & O_ACCMODE) != O_WRONLY) {
    auto text = self.control().read(ino);
    if (!text.is_ok()) return reply_status(req, text.status());
    of->control_data = std::make_shared<const std::string>(std::move(*text));
  }
  fi->direct_io = 1;  // the size is unknown until read: read to EOF
  fi->nonseekable = 0;
  self.adopt_handle(std::move(of), fi);
  if (reply::open(req, fi) != 0) self.drop_handle(fi);
}

void control_read(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  // Owned here until the reply is sent, not borrowed from the handle (see
  // OpenFile::control_data). A write-only handle has no snapshot.
  std::shared_ptr<const std::string> data = open_file(fi)->control_data;
  if (!data || off < 0 || size_t(off) >= data->size()) return (void)reply::buf(req, nullptr, 0);
  size_t n = std::min(size, data->size() - size_t(off));
  reply::buf(req, data->data() + off, n);
}

void control_write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t,
                   fuse_file_info*) {
  Status st = fuse_fs(req).control().write(ino, std::string_view(buf, size), fuse_req_ctx(req)->pid);
  if (!st.is_ok()) return reply_status(req, st);
  reply::write(req, size);
}

namespace {

void reply_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus) {
  FuseFs& self = fuse_fs(req);
  const ControlTree& ctl = self.control();
  auto dir = ctl.stat(ino);
  if (!dir || !dir->is_dir) return reply_errno(req, ENOTDIR);
  std::vector<ControlTree::Entry> entries = {{ino, ".", true, false}, {ino, "..", true, false}};
  for (auto& e : ctl.list(ino)) entries.push_back(e);
  std::vector<char> buf(size);
  size_t pos = 0;
  for (size_t i = size_t(off); i < entries.size(); ++i) {
    fuse_entry_param p = self.control_entry(entries[i]);
    size_t n = plus ? fuse_add_direntry_plus(req, buf.data() + pos, size - pos,
                                             entries[i].name.c_str(), &p, off_t(i + 1))
                    : fuse_add_direntry(req, buf.data() + pos, size - pos,
                                        entries[i].name.c_str(), &p.attr, off_t(i + 1));
    if (n > size - pos) break;
    pos += n;
  }
  reply::buf(req, buf.data(), pos);
}

}  // namespace

void control_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  reply_readdir(req, ino, size, off, false);
}

void control_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  reply_readdir(req, ino, size, off, true);
}

void control_forget(fuse_req_t req, fuse_ino_t, uint64_t) { reply::none(req); }

// The control files have no extended attributes.
void control_listxattr(fuse_req_t req, fuse_ino_t, size_t size) {
  if (size == 0) {
    reply::xattr(req, 0);
  } else {
    reply::buf(req, "", 0);
  }
}

}  // namespace cardfs::fuse
