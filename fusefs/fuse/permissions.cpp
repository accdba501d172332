#include "fusefs/fuse/permissions.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

namespace cardfs::fuse {
namespace {

// The kernel's __FMODE_EXEC: set in the flags of the OPEN that execve sends.
constexpr int kOpenForExec = 0x20;

Status refused(int err, const char* why) { return Status::error(err, why); }

bool owner_or_capable(const Caller& c, const fusefs::Attr& a) {
  return c.uid() == a.uid || c.capable(Cap::kFowner);
}

// The caller's class bits (owner, group, other) cover mask.
bool mode_allows(const Caller& c, const fusefs::Attr& a, int mask) {
  uint32_t bits;
  if (c.uid() == a.uid) {
    bits = a.mode >> 6;
  } else {
    uint32_t group = (a.mode >> 3) & mask, other = a.mode & mask;
    // Same answer either way: no need to ask for the supplementary groups.
    bits = (group == other || !c.in_group(a.gid)) ? a.mode : a.mode >> 3;
  }
  return (mask & ~bits & 7) == 0;
}

uint64_t read_cap_eff(int pid) {
  if (pid <= 0) return 0;
  std::string path = "/proc/" + std::to_string(pid) + "/status";
  FILE* f = std::fopen(path.c_str(), "re");
  if (f == nullptr) return 0;
  char line[256];
  unsigned long long caps = 0;
  while (std::fgets(line, sizeof line, f) != nullptr)
    if (std::sscanf(line, "CapEff: %llx", &caps) == 1) break;
  std::fclose(f);
  return caps;
}

}  // namespace

RequestCaller::RequestCaller(fuse_req_t req) : req_(req) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  uid_ = ctx->uid;
  gid_ = ctx->gid;
  pid_ = ctx->pid;
}

bool RequestCaller::in_group(uint32_t gid) const {
  if (gid == gid_) return true;
  if (!groups_) {
    std::vector<gid_t> list(64);
    int n = fuse_req_getgroups(req_, int(list.size()), list.data());
    if (n > int(list.size())) {
      list.resize(size_t(n));
      n = fuse_req_getgroups(req_, int(list.size()), list.data());
    }
    list.resize(n > 0 ? std::min(size_t(n), list.size()) : 0);
    groups_ = std::move(list);
  }
  return std::find(groups_->begin(), groups_->end(), gid_t(gid)) != groups_->end();
}

bool RequestCaller::capable(Cap cap) const {
  if (!caps_) caps_ = read_cap_eff(pid_);
  return (*caps_ >> int(cap)) & 1;
}

Status may_access(const Caller& c, const fusefs::Attr& a, int mask) {
  if (mode_allows(c, a, mask)) return Status::ok();
  if (S_ISDIR(a.mode)) {
    if (!(mask & kMayWrite) && c.capable(Cap::kDacReadSearch)) return Status::ok();
    if (c.capable(Cap::kDacOverride)) return Status::ok();
    return refused(EACCES, "permission denied");
  }
  if (mask == kMayRead && c.capable(Cap::kDacReadSearch)) return Status::ok();
  // Not even root may execute a file without any x bit.
  if ((!(mask & kMayExec) || (a.mode & 0111)) && c.capable(Cap::kDacOverride))
    return Status::ok();
  return refused(EACCES, "permission denied");
}

Status may_create_in(const Caller& c, const fusefs::Attr& dir) {
  return may_access(c, dir, kMayWrite | kMayExec);
}

Status may_delete(const Caller& c, const fusefs::Attr& dir, const fusefs::Attr& victim) {
  CARDFS_RETURN_IF_ERROR(may_access(c, dir, kMayWrite | kMayExec));
  bool sticky = (dir.mode & S_ISVTX) && c.uid() != victim.uid && c.uid() != dir.uid;
  if (sticky && !c.capable(Cap::kFowner))
    return refused(EPERM, "sticky directory: not the owner of the name");
  return Status::ok();
}

Status may_open(const Caller& c, const fusefs::Attr& a, int flags) {
  int mask = 0;
  if (flags & kOpenForExec) {
    mask = kMayExec;
  } else {
    int acc = flags & O_ACCMODE;
    if (acc == O_RDONLY || acc == O_RDWR) mask |= kMayRead;
    if (acc == O_WRONLY || acc == O_RDWR) mask |= kMayWrite;
    if (flags & O_TRUNC) mask |= kMayWrite;
  }
  return may_access(c, a, mask);
}

Status may_link(const Caller& c, const fusefs::Attr& src) {
  if (owner_or_capable(c, src)) return Status::ok();
  bool safe = S_ISREG(src.mode) && !(src.mode & S_ISUID) &&
              (src.mode & (S_ISGID | S_IXGRP)) != (S_ISGID | S_IXGRP) &&
              may_access(c, src, kMayRead | kMayWrite).is_ok();
  if (!safe) return refused(EPERM, "protected hard link: not the owner");
  return Status::ok();
}

namespace {

// The mode change the kernel makes itself after a non-owner's write or
// truncate (handle_killpriv is not negotiated): S_ISUID/S_ISGID cleared,
// nothing else. Anyone who may write the file may have that done.
bool only_clears_setid(const fusefs::Attr& a, uint32_t mode) {
  uint32_t old = a.mode & 07777;
  return (mode & ~old) == 0 && ((old & ~mode) & ~uint32_t(S_ISUID | S_ISGID)) == 0;
}

Status may_change_owner(const Caller& c, const fusefs::Attr& a, const fusefs::SetAttr& sa) {
  if (sa.uid && *sa.uid != a.uid && !c.capable(Cap::kChown))
    return refused(EPERM, "only a privileged caller may give a file away");
  if (sa.uid && c.uid() != a.uid && !c.capable(Cap::kChown))
    return refused(EPERM, "not the owner");
  if (sa.gid && *sa.gid != a.gid) {
    bool own_group = c.uid() == a.uid && c.in_group(*sa.gid);
    if (!own_group && !c.capable(Cap::kChown))
      return refused(EPERM, "not the owner, or not a member of the new group");
  }
  if (sa.gid && *sa.gid == a.gid && c.uid() != a.uid && !c.capable(Cap::kChown))
    return refused(EPERM, "not the owner");
  return Status::ok();
}

}  // namespace

Status may_setattr(const Caller& c, const fusefs::Attr& a, fusefs::SetAttr& sa,
                   bool through_handle) {
  using Time = fusefs::SetAttr::Time;
  if (sa.size && !through_handle) CARDFS_RETURN_IF_ERROR(may_access(c, a, kMayWrite));
  CARDFS_RETURN_IF_ERROR(may_change_owner(c, a, sa));
  if (sa.mode) {
    if (!owner_or_capable(c, a)) {
      if (!only_clears_setid(a, *sa.mode)) return refused(EPERM, "chmod: not the owner");
      CARDFS_RETURN_IF_ERROR(may_access(c, a, kMayWrite));
    }
    uint32_t group = sa.gid ? *sa.gid : a.gid;
    if ((*sa.mode & S_ISGID) && !c.in_group(group) && !c.capable(Cap::kFsetid))
      *sa.mode &= ~uint32_t(S_ISGID);
  }
  bool explicit_time = sa.atime == Time::kSet || sa.mtime == Time::kSet;
  bool touch = sa.atime == Time::kNow || sa.mtime == Time::kNow;
  if (explicit_time && !owner_or_capable(c, a))
    return refused(EPERM, "setting times: not the owner");
  // utimensat(NULL): the owner, or anyone who may write. A truncate's own
  // mtime update was allowed with the truncate.
  if (touch && !sa.size && !owner_or_capable(c, a))
    CARDFS_RETURN_IF_ERROR(may_access(c, a, kMayWrite));
  return Status::ok();
}

Status may_xattr(const Caller& c, const fusefs::Attr& a, std::string_view name, bool write) {
  if (name.substr(0, 5) != "user.") return Status::ok();
  if (write && S_ISDIR(a.mode) && (a.mode & S_ISVTX) && !owner_or_capable(c, a))
    return refused(EPERM, "user attributes of a sticky directory: not the owner");
  return may_access(c, a, write ? kMayWrite : kMayRead);
}

}  // namespace cardfs::fuse
