// Permission checks in the daemon, for mounts where the kernel does not
// make them (no default_permissions; see docs/fuse.md "Permissions").
//
// Contract
// - Each check is a pure function of the caller and the attributes of the
//   inodes the operation names, and answers what Linux's VFS with
//   generic_permission() answers for a local filesystem: EACCES for a
//   missing r/w/x bit, EPERM for ownership rules (chmod, chown, explicit
//   times, the sticky bit, protected hard links). OK means "allowed".
// - Classes as POSIX: owner if the uids match, else group if the file's
//   group is the caller's group or one of its supplementary groups, else
//   other. Capabilities as Linux: CAP_DAC_OVERRIDE (any r/w; x if some x
//   bit is set or a directory), CAP_DAC_READ_SEARCH (read, and search of
//   directories), CAP_FOWNER (owner rules), CAP_CHOWN, CAP_FSETID.
// - Caller answers lazily: supplementary groups and capabilities are asked
//   for only when the mode bits alone would refuse (RequestCaller reads
//   them from /proc, which costs a system call or two).
// - What it cannot do: check search permission on the directories of a
//   path the kernel walks from its own caches; see docs/fuse.md for why
//   that makes these checks enough only on a mount without allow_other.
#pragma once

#include "fusefs/fuse/session.h"  // FUSE_USE_VERSION, fuse_lowlevel.h

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "fusefs/filesystem.h"

namespace cardfs::fuse {

// The permission bits a check asks for, as in access(2).
inline constexpr int kMayRead = 4, kMayWrite = 2, kMayExec = 1;

// Linux capability numbers (linux/capability.h).
enum class Cap { kChown = 0, kDacOverride = 1, kDacReadSearch = 2, kFowner = 3, kFsetid = 4 };

class Caller {
 public:
  virtual ~Caller() = default;
  virtual uint32_t uid() const = 0;
  virtual uint32_t gid() const = 0;
  // gid is the caller's group or one of its supplementary groups.
  virtual bool in_group(uint32_t gid) const = 0;
  virtual bool capable(Cap cap) const = 0;
};

// The caller of a FUSE request: uid/gid from the request, supplementary
// groups through fuse_req_getgroups, capabilities from /proc/PID/status
// (CapEff), each read once and only when asked. A caller whose process is
// gone or invisible (another pid namespace) has no groups and no
// capabilities beyond its primary gid.
class RequestCaller : public Caller {
 public:
  explicit RequestCaller(fuse_req_t req);
  uint32_t uid() const override { return uid_; }
  uint32_t gid() const override { return gid_; }
  bool in_group(uint32_t gid) const override;
  bool capable(Cap cap) const override;

 private:
  fuse_req_t req_;
  uint32_t uid_, gid_;
  int pid_;
  mutable std::optional<std::vector<gid_t>> groups_;
  mutable std::optional<uint64_t> caps_;
};

// generic_permission: mask is kMayRead|kMayWrite|kMayExec bits.
Status may_access(const Caller& c, const fusefs::Attr& a, int mask);
// A new name in dir (create, mknod, mkdir, symlink, link, rename's target).
Status may_create_in(const Caller& c, const fusefs::Attr& dir);
// Removing victim's name from dir (unlink, rmdir, rename's source, and a
// rename target that is replaced): write+search, and the sticky bit.
Status may_delete(const Caller& c, const fusefs::Attr& dir, const fusefs::Attr& victim);
// open(2)'s flags on an existing inode (O_ACCMODE, O_TRUNC, exec).
Status may_open(const Caller& c, const fusefs::Attr& a, int flags);
// A hard link to src, as fs.protected_hardlinks=1 (Debian's default).
Status may_link(const Caller& c, const fusefs::Attr& src);
// setattr on a; may clear S_ISGID from sa.mode as Linux's chmod does for a
// caller outside the file's group. through_handle: a truncate through a
// descriptor opened for writing (checked at open).
Status may_setattr(const Caller& c, const fusefs::Attr& a, fusefs::SetAttr& sa,
                   bool through_handle);
// Reading (write=false) or changing an extended attribute of a; the VFS
// itself checks trusted.* (CAP_SYS_ADMIN) and the file types of user.*.
Status may_xattr(const Caller& c, const fusefs::Attr& a, std::string_view name, bool write);

}  // namespace cardfs::fuse
