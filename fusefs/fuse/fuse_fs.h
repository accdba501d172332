// FuseFs: the libfuse3 low-level operations over fusefs::Filesystem, plus
// the hidden control directory .cardfs/ at the root.
//
// Contract (see docs/fuse.md)
// - The FuseFs is the session's userdata; it must outlive the session.
// - Every op_X callback replies exactly once (op_guard.h checks it). The work is done by the
//   Filesystem (which drops its locks before returning), so no lock is
//   ever held across a fuse_reply_*.
// - Inode numbers: FUSE's root (1) is the filesystem's root inode (2); all
//   other numbers are the filesystem's own. Control nodes live at
//   kControlInoBase and above. st_ino is always the filesystem's number.
// - Lookup counts are the Filesystem's: every reply that hands the kernel
//   an entry (lookup, mknod, mkdir, symlink, link, create, readdirplus)
//   counts one, and a reply the kernel did not receive is forgotten again.
// - Permissions: on a mount with allow_other (or an explicit
//   default_permissions) the kernel checks them; on a mount only its owner
//   can enter, the daemon does (permissions.h, the check_* calls below),
//   which spares the kernel a GETATTR of the directory before each change
//   of it. Either way the daemon adds what a kernel filesystem does on its
//   own: names over 255 bytes (ENAMETOOLONG), setgid directories handing
//   down their group.
#pragma once

#include "fusefs/fuse/session.h"  // FUSE_USE_VERSION, fuse_lowlevel.h

#include <sys/stat.h>

#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <unordered_map>

#include "fusefs/filesystem.h"
#include "fusefs/fuse/control.h"
#include "fusefs/fuse/mount_options.h"
#include "fusefs/fuse/op_guard.h"
#include "fusefs/fuse/permissions.h"

namespace cardfs::fuse {

inline constexpr uint64_t kControlInoBase = 1ull << 48;
inline constexpr double kEntryTimeout = 3600.0;  // seconds the kernel may trust a name
inline constexpr double kAttrTimeout = 3600.0;   // and attributes
inline constexpr unsigned kMaxWrite = 1u << 20;

// Per open file (fi->fh).
struct OpenFile {
  int flags = 0;
  bool direct = false;         // the kernel bypasses its page cache for it
  bool o_direct = false;       // opened O_DIRECT: bypass cardfs's cache too
  // This handle's readahead window. The kernel sends concurrent READs on
  // one handle, so each read works on a copy taken under ra_mu and stores
  // it back after (the last reader's window wins, as with Linux's f_ra).
  std::mutex ra_mu;
  cache::ReadaheadState ra;
  // Control files: the snapshot read at open. Shared with each READ's
  // reply: the kernel may drop the file's last reference as soon as it has
  // a reply (an aio read's completion), and the RELEASE that follows can
  // free this handle on another worker before reply::buf has returned.
  std::shared_ptr<const std::string> control_data;
};

class FuseFs {
 public:
  FuseFs(fusefs::Filesystem& fs, const ControlTree& control, const MountOptions& opts);

  static const fuse_lowlevel_ops& operations();

  static fusefs::Ino to_fs(fuse_ino_t ino) { return ino == FUSE_ROOT_ID ? fusefs::kRootIno : ino; }
  static fuse_ino_t to_fuse(fusefs::Ino ino) { return ino == fusefs::kRootIno ? FUSE_ROOT_ID : ino; }
  static struct stat to_stat(const fusefs::Attr& a);

  fusefs::Filesystem& fs() { return fs_; }
  const ControlTree& control() const { return control_; }
  const MountOptions& options() const { return opts_; }
  struct stat control_stat(const ControlTree::Entry& e) const;
  fuse_entry_param entry_of(const fusefs::Attr& a) const;
  fuse_entry_param control_entry(const ControlTree::Entry& e) const;
  // Whether the daemon checks permissions (the kernel does not).
  bool checks_permissions() const { return checks_permissions_; }
  // Whether a write through this handle must reach the card before the reply.
  bool write_through(const OpenFile& of) const;
  // The session, once mounted: what the notifications below go through.
  void set_session(fuse_session* se) { session_ = se; }
  // Makes the kernel ask for ino's attributes again, when the daemon changed
  // some it cannot know of (an attribute block in st_blocks).
  void invalidate_attributes(fuse_ino_t ino);
  // Open handles (fi->fh) are owned here, not leaked into the kernel's
  // care: a session that ends with files still open (a power cut through
  // .cardfs/, a signal) frees them with the FuseFs. Sets fi->fh.
  void adopt_handle(std::unique_ptr<OpenFile> of, fuse_file_info* fi);
  // Frees fi's handle (a RELEASE, or an open whose reply the kernel refused).
  void drop_handle(const fuse_file_info* fi);
  size_t open_handles() const;

 private:
  fusefs::Filesystem& fs_;
  const ControlTree& control_;
  const MountOptions opts_;
  uid_t uid_;
  gid_t gid_;
  bool checks_permissions_;
  fuse_session* session_ = nullptr;
  mutable std::mutex handles_mu_;
  std::unordered_map<uint64_t, std::unique_ptr<OpenFile>> handles_;
};

// The FuseFs behind a request.
inline FuseFs& fuse_fs(fuse_req_t req) { return *static_cast<FuseFs*>(fuse_req_userdata(req)); }
inline OpenFile* open_file(const fuse_file_info* fi) {
  return reinterpret_cast<OpenFile*>(static_cast<uintptr_t>(fi->fh));
}

// Replies: each consumes the request.
inline void reply_errno(fuse_req_t req, int err) { reply::err(req, err); }
void reply_status(fuse_req_t req, const Status& st);
// An entry; forgets the lookup again if the kernel did not take it.
void reply_entry(fuse_req_t req, const Result<fusefs::Attr>& r);
void reply_attr(fuse_req_t req, const Result<fusefs::Attr>& r);

// ENAMETOOLONG for names the on-disk format cannot hold.
Status check_name(const char* name);
bool is_control_name(fuse_ino_t parent, const char* name);
// check_name, and no new names in .cardfs/ or named .cardfs at the root.
Status check_new_name(fuse_req_t req, fuse_ino_t parent, const char* name);
// Owner and final mode of a new inode, as Linux's inode_init_owner: a
// setgid directory hands down its group (and, to directories, the bit);
// a creator outside that group loses the setgid bit of a file. Checks
// check_create_in's permission first, from the same fetch of the parent's
// attributes (create, mknod, mkdir and symlink call it, not check_create_in).
Result<fusefs::Creds> new_inode_owner(fuse_req_t req, fuse_ino_t parent, uint32_t& mode);

// POSIX ACLs of a new inode (-o acl; acl_inherit.cpp). The kernel leaves
// the umask to the daemon then (FUSE_CAP_DONT_MASK): under a directory
// with a default ACL the new inode's access ACL is that ACL narrowed by the
// create mode and the umask is not applied; elsewhere mode &= ~umask.
// Directories also inherit the default ACL. Without -o acl: nothing.
struct NewInodeAcls {
  std::vector<std::byte> access, dflt;  // empty: none
};
Result<NewInodeAcls> new_inode_acls(fuse_req_t req, fuse_ino_t parent, uint32_t& mode);
// Stores them on the created inode and returns its attributes after that;
// on failure the new inode's lookup is dropped and the error returned.
Result<fusefs::Attr> set_new_inode_acls(fuse_req_t req, Result<fusefs::Attr> created,
                                        const NewInodeAcls& acls);

// The daemon's permission checks (op_checks.cpp): OK at once when the
// kernel checks; otherwise the caller against the inodes' attributes.
Result<fusefs::Attr> attr_of(fuse_req_t req, fuse_ino_t ino);
Status check_access(fuse_req_t req, fuse_ino_t ino, int mask);  // kMay* bits
Status check_create_in(fuse_req_t req, fuse_ino_t parent);
Status check_open(fuse_req_t req, fuse_ino_t ino, int flags);
Status check_delete(fuse_req_t req, fuse_ino_t parent, const char* name);
Status check_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
                    const char* newname, bool exchange);
Status check_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent);
Status check_setattr(fuse_req_t req, fuse_ino_t ino, fusefs::SetAttr& sa, bool through_handle);
Status check_xattr(fuse_req_t req, fuse_ino_t ino, const char* name, bool write);

// The operation groups fill their part of the table.
void add_entry_operations(fuse_lowlevel_ops& ops);
void add_file_operations(fuse_lowlevel_ops& ops);
void add_dir_operations(fuse_lowlevel_ops& ops);
void add_xattr_operations(fuse_lowlevel_ops& ops);

// The control directory's side of each operation (ops on control inodes).
void control_lookup(fuse_req_t req, fuse_ino_t parent, const char* name);
// Each has the signature of the operation it stands in for, so that
// routed<> below can pick one or the other.
void control_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void control_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void control_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi);
void control_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void control_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi);
void control_write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
                   fuse_file_info* fi);
void control_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi);
void control_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi);
void control_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);

// An operation on one inode, routed: the control directory's side when the
// control tree owns the inode (the first fuse_ino_t argument), the
// filesystem's otherwise. Control is a function with the operation's
// signature, or the errno to answer (0: success). Goes inside guard<>:
//   o.getattr = guard<routed<op_getattr, control_getattr>>;
template <auto FsOp, auto Control>
struct Routed;

template <typename... A, void (*FsOp)(fuse_req_t, fuse_ino_t, A...), auto Control>
struct Routed<FsOp, Control> {
  static void call(fuse_req_t req, fuse_ino_t ino, A... args) {
    if (!fuse_fs(req).control().owns(ino)) return FsOp(req, ino, args...);
    if constexpr (std::is_integral_v<decltype(Control)>) {
      reply::err(req, Control);
    } else {
      Control(req, ino, args...);
    }
  }
};

template <auto FsOp, auto Control>
inline constexpr auto routed = &Routed<FsOp, Control>::call;

}  // namespace cardfs::fuse
