// POSIX ACLs: the xattr value's format and validity rules, the mode rules
// (chmod, create under a default ACL), and the filesystem's handling of
// system.posix_acl_access/default (mode kept in step, minimal ACLs not
// stored, default ACLs only on directories, a damaged stored ACL is EIO).
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "base/coding.h"
#include "fusefs/acl.h"
#include "fusefs/xattr.h"
#include "tests/fusefs/fs_fixture.h"

using namespace cardfs;
using namespace cardfs::fusefs;
using namespace cardfs::fusefs::testing;

namespace {

constexpr uint32_t kNone = 0xffffffff;

// user::rw- user:1000:r-x group::r-- mask::r-x other::---
Acl named_acl() {
  return {{kAclUserObj, 6, kNone}, {kAclUser, 5, 1000}, {kAclGroupObj, 4, kNone},
          {kAclMask, 5, kNone},    {kAclOther, 0, kNone}};
}

int err_of(const Status& s) { return s.is_ok() ? 0 : s.code(); }

Ino new_inode(TestFs& t, const std::string& name, uint32_t mode) {
  auto a = S_ISDIR(mode) ? t->mkdir(kRootIno, name, mode & 07777, {})
                         : t->mknod(kRootIno, name, mode, 0, {});
  REQUIRE(a.is_ok());
  t->forget(a->ino, 1);
  return a->ino;
}

uint32_t mode_of(TestFs& t, Ino ino) {
  auto a = t->getattr(ino);
  REQUIRE(a.is_ok());
  return a->mode & 07777;
}

}  // namespace

TEST_CASE("acl: the xattr value round-trips and unnamed ids are normalised") {
  Acl acl = named_acl();
  auto bytes = encode_acl(acl);
  CHECK(bytes.size() == 4 + 8 * acl.size());
  CHECK(get_u32(bytes.data()) == kAclVersion);
  auto back = decode_acl(bytes);
  REQUIRE(back.is_ok());
  CHECK(*back == acl);
  put_u32(bytes.data() + 4 + 4, 77);  // user::'s id, which means nothing
  back = decode_acl(bytes);
  REQUIRE(back.is_ok());
  CHECK((*back)[0].id == kNone);
}

TEST_CASE("acl: invalid values are EINVAL, never read past their end") {
  auto enc = [](Acl a) { return encode_acl(a); };
  std::vector<std::byte> good = enc(named_acl());
  CHECK(err_of(decode_acl({}).status()) == EINVAL);
  CHECK(err_of(decode_acl(std::span(good).first(good.size() - 1)).status()) == EINVAL);
  CHECK(err_of(decode_acl(std::span(good).first(3)).status()) == EINVAL);
  auto v1 = good;
  put_u32(v1.data(), 1);
  CHECK(err_of(decode_acl(v1).status()) == EINVAL);
  Acl a = named_acl();
  std::swap(a[0], a[2]);  // out of order
  CHECK(err_of(decode_acl(enc(a)).status()) == EINVAL);
  a = named_acl();
  a.erase(a.begin() + 3);  // named entry without a mask
  CHECK(err_of(decode_acl(enc(a)).status()) == EINVAL);
  a = named_acl();
  a.insert(a.begin() + 2, {kAclUser, 1, 1000});  // the same uid twice
  CHECK(err_of(decode_acl(enc(a)).status()) == EINVAL);
  a = named_acl();
  a[1].perm = 8;
  CHECK(err_of(decode_acl(enc(a)).status()) == EINVAL);
  a = named_acl();
  a.pop_back();  // no other::
  CHECK(err_of(decode_acl(enc(a)).status()) == EINVAL);
  a = named_acl();
  a[1].tag = 0x40;
  CHECK(err_of(decode_acl(enc(a)).status()) == EINVAL);
  CHECK(decode_acl(enc(acl_from_mode(0640))).is_ok());
}

TEST_CASE("acl: mode bits, chmod and create under a default ACL") {
  Acl acl = named_acl();
  CHECK(acl_mode_bits(acl) == 0650);  // the group class is the mask
  CHECK_FALSE(acl_is_mode(acl));
  CHECK(acl_is_mode(acl_from_mode(0751)));
  CHECK(acl_mode_bits(acl_from_mode(0751)) == 0751);
  acl_chmod(acl, 0704);
  CHECK(acl[0].perm == 7);
  CHECK(acl[1].perm == 5);  // named entries stay; the mask takes the group bits
  CHECK(acl[2].perm == 4);
  CHECK(acl[3].perm == 0);
  CHECK(acl[4].perm == 4);
  // create(0666) under default user::rwx user:1000:rwx group::r-x mask::rwx other::r-x
  Acl dflt = {{kAclUserObj, 7, kNone}, {kAclUser, 7, 1000}, {kAclGroupObj, 5, kNone},
              {kAclMask, 7, kNone},    {kAclOther, 5, kNone}};
  CHECK(acl_create_masq(dflt, S_IFREG | 0666) == (S_IFREG | 0664));
  CHECK(dflt[0].perm == 6);
  CHECK(dflt[1].perm == 7);  // named entries are limited by the mask, not changed
  CHECK(dflt[3].perm == 6);
  CHECK(dflt[4].perm == 4);
}

TEST_CASE("acl: the filesystem keeps the access ACL and the mode in step") {
  TestFs t;
  Ino f = new_inode(t, "f", S_IFREG | 0644);
  auto acl = encode_acl(named_acl());
  REQUIRE(t->setxattr(f, kAclAccessName, acl, 0).is_ok());
  CHECK(mode_of(t, f) == 0650);
  auto stored = t->getxattr(f, kAclAccessName);
  REQUIRE(stored.is_ok());
  CHECK(*stored == acl);
  // chmod rewrites owner, mask and other in the stored ACL.
  fusefs::SetAttr sa;
  sa.mode = 0750;
  REQUIRE(t->setattr(f, sa).is_ok());
  stored = t->getxattr(f, kAclAccessName);
  REQUIRE(stored.is_ok());
  auto after = decode_acl(*stored);
  REQUIRE(after.is_ok());
  CHECK(acl_mode_bits(*after) == 0750);
  CHECK((*after)[1] == AclEntry{kAclUser, 5, 1000});
  // An ACL of the three classes only is the mode: set, and nothing stored.
  REQUIRE(t->setxattr(f, kAclAccessName, encode_acl(acl_from_mode(0604)), 0).is_ok());
  CHECK(mode_of(t, f) == 0604);
  CHECK(err_of(t->getxattr(f, kAclAccessName).status()) == ENODATA);
  // Invalid values and default ACLs on files are refused; nothing changes.
  CHECK(err_of(t->setxattr(f, kAclAccessName, bytes_of("junk"), 0)) == EINVAL);
  CHECK(err_of(t->setxattr(f, kAclDefaultName, acl, 0)) == EACCES);
  CHECK(mode_of(t, f) == 0604);
  Ino d = new_inode(t, "d", S_IFDIR | 0755);
  REQUIRE(t->setxattr(d, kAclDefaultName, acl, 0).is_ok());
  CHECK(mode_of(t, d) == 0755);  // a default ACL leaves the mode alone
  REQUIRE(t->removexattr(d, kAclDefaultName).is_ok());
  CHECK(err_of(t->getxattr(d, kAclDefaultName).status()) == ENODATA);
}

TEST_CASE("acl: ACLs survive a remount, listed under their system. names") {
  TestFs t;
  Ino f = new_inode(t, "f", S_IFREG | 0644);
  REQUIRE(t->setxattr(f, kAclAccessName, encode_acl(named_acl()), 0).is_ok());
  REQUIRE(t->setxattr(f, "user.x", bytes_of("v"), 0).is_ok());
  t.remount();
  auto names = t->listxattr(f);
  REQUIRE(names.is_ok());
  CHECK(*names == std::string("user.x\0system.posix_acl_access\0", 31));
  auto v = t->getxattr(f, kAclAccessName);
  REQUIRE(v.is_ok());
  CHECK(decode_acl(*v).is_ok());
  CHECK(mode_of(t, f) == 0650);
}
