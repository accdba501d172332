// The daemon's permission rules (fusefs/fuse/permissions.h) against what
// Linux's VFS answers, with a caller whose groups and capabilities are set
// by the test; the mount-level check of the same list is permissions.sh.
#include "fusefs/fuse/permissions.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <set>

namespace cardfs::fuse {
namespace {

struct FakeCaller : Caller {
  uint32_t uid_v = 1000, gid_v = 1000;
  std::set<uint32_t> groups;
  std::set<Cap> caps;
  mutable int group_asks = 0;
  uint32_t uid() const override { return uid_v; }
  uint32_t gid() const override { return gid_v; }
  bool in_group(uint32_t g) const override {
    ++group_asks;
    return g == gid_v || groups.count(g) > 0;
  }
  bool capable(Cap c) const override { return caps.count(c) > 0; }
};

fusefs::Attr attr(uint32_t mode, uint32_t uid = 0, uint32_t gid = 0) {
  fusefs::Attr a;
  a.mode = mode;
  a.uid = uid;
  a.gid = gid;
  return a;
}

int code(const Status& s) { return s.code(); }

TEST_CASE("owner, group and other classes decide - the owner class is not widened") {
  FakeCaller c;
  CHECK(code(may_access(c, attr(S_IFREG | 0600, 1000), kMayRead | kMayWrite)) == 0);
  CHECK(code(may_access(c, attr(S_IFREG | 0066, 1000), kMayRead)) == EACCES);  // owner: ---
  CHECK(code(may_access(c, attr(S_IFREG | 0640, 0, 1000), kMayRead)) == 0);
  CHECK(code(may_access(c, attr(S_IFREG | 0640, 0, 1000), kMayWrite)) == EACCES);
  c.groups = {50};
  CHECK(code(may_access(c, attr(S_IFREG | 0604, 0, 50), kMayRead)) == EACCES);  // group: ---
  CHECK(code(may_access(c, attr(S_IFREG | 0604, 0, 51), kMayRead)) == 0);
}

TEST_CASE("supplementary groups are asked for only when they change the answer") {
  FakeCaller c;
  CHECK(code(may_access(c, attr(S_IFREG | 0644, 0, 7), kMayRead)) == 0);
  CHECK(c.group_asks == 0);
  CHECK(code(may_access(c, attr(S_IFREG | 0640, 0, 7), kMayRead)) == EACCES);
  CHECK(c.group_asks == 1);
}

TEST_CASE("capabilities override as in generic_permission") {
  FakeCaller c;
  c.caps = {Cap::kDacReadSearch};
  CHECK(code(may_access(c, attr(S_IFREG | 0000), kMayRead)) == 0);
  CHECK(code(may_access(c, attr(S_IFREG | 0000), kMayWrite)) == EACCES);
  CHECK(code(may_access(c, attr(S_IFDIR | 0000), kMayRead | kMayExec)) == 0);
  c.caps = {Cap::kDacOverride};
  CHECK(code(may_access(c, attr(S_IFREG | 0000), kMayRead | kMayWrite)) == 0);
  CHECK(code(may_access(c, attr(S_IFREG | 0600), kMayExec)) == EACCES);  // no x bit at all
  CHECK(code(may_access(c, attr(S_IFREG | 0001), kMayExec)) == 0);
  CHECK(code(may_access(c, attr(S_IFDIR | 0000), kMayWrite | kMayExec)) == 0);
}

TEST_CASE("removing a name: write and search on the directory, then the sticky bit") {
  FakeCaller c;
  CHECK(code(may_delete(c, attr(S_IFDIR | 0755), attr(S_IFREG | 0644, 1000))) == EACCES);
  CHECK(code(may_delete(c, attr(S_IFDIR | 01777), attr(S_IFREG | 0644, 1000))) == 0);
  CHECK(code(may_delete(c, attr(S_IFDIR | 01777), attr(S_IFREG | 0666, 5))) == EPERM);
  CHECK(code(may_delete(c, attr(S_IFDIR | 01777, 1000), attr(S_IFREG | 0666, 5))) == 0);
  c.caps = {Cap::kFowner};
  CHECK(code(may_delete(c, attr(S_IFDIR | 01777), attr(S_IFREG | 0666, 5))) == 0);
}

TEST_CASE("open asks for what the access mode, O_TRUNC and exec need") {
  FakeCaller c;
  auto ro = attr(S_IFREG | 0444, 1000);
  CHECK(code(may_open(c, ro, O_RDONLY)) == 0);
  CHECK(code(may_open(c, ro, O_WRONLY)) == EACCES);
  CHECK(code(may_open(c, ro, O_RDWR)) == EACCES);
  CHECK(code(may_open(c, ro, O_RDONLY | O_TRUNC)) == EACCES);
  CHECK(code(may_open(c, attr(S_IFREG | 0677, 1000), 0x20 /* __FMODE_EXEC */)) == EACCES);
  CHECK(code(may_open(c, attr(S_IFREG | 0100, 1000), 0x20)) == 0);
}

TEST_CASE("setattr: chmod, chown and times follow the ownership rules") {
  FakeCaller c;
  auto theirs = attr(S_IFREG | 06666, 5, 5);
  fusefs::SetAttr chmod;
  chmod.mode = 0777;
  CHECK(code(may_setattr(c, theirs, chmod, false)) == EPERM);
  fusefs::SetAttr kill_suid;  // the kernel's own after a non-owner's write
  kill_suid.mode = 0666;
  CHECK(code(may_setattr(c, theirs, kill_suid, false)) == 0);
  CHECK(code(may_setattr(c, attr(S_IFREG | 06644, 5, 5), kill_suid, false)) == EPERM);

  auto mine = attr(S_IFREG | 0644, 1000, 5);
  fusefs::SetAttr sgid;
  sgid.mode = 02755;
  REQUIRE(code(may_setattr(c, mine, sgid, false)) == 0);
  CHECK(*sgid.mode == 0755);  // not a member of group 5
  fusefs::SetAttr give;
  give.uid = 5;
  CHECK(code(may_setattr(c, mine, give, false)) == EPERM);
  fusefs::SetAttr same_owner;
  same_owner.uid = 1000;
  CHECK(code(may_setattr(c, mine, same_owner, false)) == 0);
  fusefs::SetAttr chgrp;
  chgrp.gid = 6;
  CHECK(code(may_setattr(c, mine, chgrp, false)) == EPERM);
  c.groups = {6};
  CHECK(code(may_setattr(c, mine, chgrp, false)) == 0);
  c.caps = {Cap::kChown};
  CHECK(code(may_setattr(c, mine, give, false)) == 0);
}

TEST_CASE("setattr: times and truncation") {
  using Time = fusefs::SetAttr::Time;
  FakeCaller c;
  auto open = attr(S_IFREG | 0666, 5, 5), pub = attr(S_IFREG | 0644, 5, 5);
  fusefs::SetAttr set;
  set.mtime = Time::kSet;
  CHECK(code(may_setattr(c, open, set, false)) == EPERM);
  fusefs::SetAttr touch;
  touch.atime = touch.mtime = Time::kNow;
  CHECK(code(may_setattr(c, open, touch, false)) == 0);
  CHECK(code(may_setattr(c, pub, touch, false)) == EACCES);
  fusefs::SetAttr trunc;
  trunc.size = 0;
  trunc.mtime = Time::kNow;
  CHECK(code(may_setattr(c, pub, trunc, false)) == EACCES);
  CHECK(code(may_setattr(c, pub, trunc, true)) == 0);  // through a handle open for writing
  CHECK(code(may_setattr(c, open, trunc, false)) == 0);
}

TEST_CASE("hard links are protected - user.* attributes need read or write") {
  FakeCaller c;
  CHECK(code(may_link(c, attr(S_IFREG | 0600, 5))) == EPERM);
  CHECK(code(may_link(c, attr(S_IFREG | 0666, 5))) == 0);
  CHECK(code(may_link(c, attr(S_IFREG | 04666, 5))) == EPERM);
  CHECK(code(may_link(c, attr(S_IFREG | 0600, 1000))) == 0);
  CHECK(code(may_xattr(c, attr(S_IFREG | 0644, 5), "user.a", false)) == 0);
  CHECK(code(may_xattr(c, attr(S_IFREG | 0644, 5), "user.a", true)) == EACCES);
  CHECK(code(may_xattr(c, attr(S_IFREG | 0600, 5), "security.x", false)) == 0);
  CHECK(code(may_xattr(c, attr(S_IFDIR | 01777, 5), "user.a", true)) == EPERM);
}

}  // namespace
}  // namespace cardfs::fuse
