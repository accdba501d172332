// Extended attributes: the block format (bounds, checksum, order), the
// errors of set/get/list/remove, the block's accounting and lifetime, and a
// random sequence of operations checked against a model across remounts.
#include <sys/stat.h>
#include <sys/xattr.h>

#include <catch2/catch.hpp>
#include <map>
#include <random>

#include "base/coding.h"
#include "base/crc32c.h"
#include "fusefs/xattr.h"
#include "tests/fusefs/fs_fixture.h"

using namespace cardfs;
using namespace cardfs::fusefs;
using namespace cardfs::fusefs::testing;

namespace {

Ino new_file(TestFs& t, const std::string& name) {
  auto a = t->mknod(kRootIno, name, S_IFREG | 0644, 0, {});
  REQUIRE(a.is_ok());
  t->forget(a->ino, 1);
  return a->ino;
}

int err_of(const Status& s) { return s.is_ok() ? 0 : s.code(); }

std::string get(TestFs& t, Ino ino, const std::string& name) {
  auto v = t->getxattr(ino, name);
  INFO(name << ": " << v.status().to_string());
  REQUIRE(v.is_ok());
  return string_of(*v);
}

}  // namespace

TEST_CASE("xattrs: set, get, list and remove, kept across a remount") {
  TestFs t;
  Ino f = new_file(t, "f");
  const uint64_t free_before = t->statfs()->free_blocks;
  CHECK(t->getattr(f)->blocks == 0);
  REQUIRE(t->setxattr(f, "user.b", bytes_of("two"), 0).is_ok());
  REQUIRE(t->setxattr(f, "user.a", bytes_of("one"), 0).is_ok());
  REQUIRE(t->setxattr(f, "trusted.t", bytes_of(""), 0).is_ok());
  REQUIRE(t->setxattr(f, "security.selinux", bytes_of("ctx"), 0).is_ok());
  CHECK(t->getattr(f)->blocks == 8);  // one 4 KiB block, in 512-byte units
  CHECK(t->statfs()->free_blocks == free_before - 1);
  t.remount();
  CHECK(get(t, f, "user.a") == "one");
  CHECK(get(t, f, "user.b") == "two");
  CHECK(get(t, f, "trusted.t").empty());
  CHECK(*t->listxattr(f) == std::string("user.a\0user.b\0trusted.t\0security.selinux\0", 41));
  REQUIRE(t->setxattr(f, "user.a", bytes_of("uno"), XATTR_REPLACE).is_ok());
  CHECK(get(t, f, "user.a") == "uno");
  for (const char* n : {"user.a", "user.b", "trusted.t", "security.selinux"})
    REQUIRE(t->removexattr(f, n).is_ok());
  CHECK(t->inspect_inode(f)->xattr_block == 0);
  CHECK(t->getattr(f)->blocks == 0);
  CHECK(t->statfs()->free_blocks == free_before);
  CHECK(t->listxattr(f)->empty());
  CHECK(t->check_free_counts().is_ok());
}

TEST_CASE("xattrs: the errors a local filesystem gives") {
  TestFs t;
  Ino f = new_file(t, "f");
  CHECK(err_of(t->getxattr(f, "user.none").status()) == ENODATA);
  CHECK(err_of(t->removexattr(f, "user.none")) == ENODATA);
  CHECK(err_of(t->setxattr(f, "user.x", bytes_of("v"), XATTR_REPLACE)) == ENODATA);
  REQUIRE(t->setxattr(f, "user.x", bytes_of("v"), XATTR_CREATE).is_ok());
  CHECK(err_of(t->setxattr(f, "user.x", bytes_of("w"), XATTR_CREATE)) == EEXIST);
  CHECK(err_of(t->setxattr(f, "user.x", bytes_of("w"), XATTR_CREATE | XATTR_REPLACE)) == EEXIST);
  CHECK(err_of(t->setxattr(f, "user.x", bytes_of("w"), 4)) == EINVAL);
  CHECK(get(t, f, "user.x") == "v");
  CHECK(err_of(t->getxattr(f, "user.none").status()) == ENODATA);
  // Namespaces: unknown prefixes are refused everywhere (POSIX ACLs are
  // names of their own, with values of their own: acl_test.cpp).
  for (const char* n : {"system.x", "system.posix_acl_accessx", "other.x", "user"}) {
    INFO(n);
    CHECK(err_of(t->setxattr(f, n, bytes_of("v"), 0)) == EOPNOTSUPP);
    CHECK(err_of(t->getxattr(f, n).status()) == EOPNOTSUPP);
    CHECK(err_of(t->removexattr(f, n)) == EOPNOTSUPP);
  }
  CHECK(err_of(t->setxattr(f, "user.", bytes_of("v"), 0)) == EINVAL);
  CHECK(err_of(t->setxattr(f, "user." + std::string(251, 'n'), bytes_of("v"), 0)) == ERANGE);
  CHECK(t->setxattr(f, "user." + std::string(250, 'n'), bytes_of("v"), 0).is_ok());
  CHECK(err_of(t->getxattr(999999, "user.x").status()) == ENOENT);
}

TEST_CASE("xattrs: a full block is ENOSPC and leaves the attributes as they were") {
  TestFs t(sized(64ull << 20, 1024));
  Ino f = new_file(t, "f");
  const uint32_t cap = xattr_capacity(1024);
  CHECK(err_of(t->setxattr(f, "user.big", bytes_of(std::string(1024, 'v')), 0)) == ENOSPC);
  CHECK(t->inspect_inode(f)->xattr_block == 0);
  // Entries of 8 + 2 ("10".."99") + 90 = 100 bytes each.
  int n = 0;
  for (; n < 100; ++n) {
    std::string full = "user." + std::to_string(10 + n);
    Status st = t->setxattr(f, full, bytes_of(std::string(90, char('a' + n % 26))), 0);
    if (!st.is_ok()) {
      CHECK(st.code() == ENOSPC);
      break;
    }
  }
  CHECK(n == int(cap / 100));
  t.remount();
  CHECK(t->listxattr(f)->size() == size_t(n) * 8);
  CHECK(get(t, f, "user.10") == std::string(90, 'a'));
  REQUIRE(t->removexattr(f, "user.10").is_ok());
  CHECK(t->setxattr(f, "user.99", bytes_of(std::string(90, 'z')), 0).is_ok());
}

TEST_CASE("xattrs: the block is freed with its inode, whatever the inode's type") {
  TestFs t;
  const auto before = *t->statfs();
  auto dir = t->mkdir(kRootIno, "d", 0755, {});
  auto link = t->symlink(kRootIno, "l", "short", {});
  REQUIRE(dir.is_ok());
  REQUIRE(link.is_ok());
  Ino f = new_file(t, "f");
  REQUIRE(t->write(f, 0, bytes_of(std::string(10000, 'x'))).is_ok());
  for (Ino i : {dir->ino, link->ino, f})
    REQUIRE(t->setxattr(i, "user.k", bytes_of("v"), 0).is_ok());
  CHECK(t->getattr(f)->blocks == 4 * 8);  // 3 data blocks and the attribute block
  t->forget(dir->ino, 1);
  t->forget(link->ino, 1);
  REQUIRE(t->rmdir(kRootIno, "d").is_ok());
  REQUIRE(t->unlink(kRootIno, "l").is_ok());
  REQUIRE(t->unlink(kRootIno, "f").is_ok());
  CHECK(t->statfs()->free_blocks == before.free_blocks);
  CHECK(t->statfs()->free_files == before.free_files);
  CHECK(t->check_free_counts().is_ok());
}

TEST_CASE("xattrs: a read-only mount refuses changes") {
  FsOptions o;
  o.mount.read_only = true;
  TestFs t(o);
  CHECK(err_of(t->setxattr(kRootIno, "user.k", bytes_of("v"), 0)) == EROFS);
  CHECK(err_of(t->removexattr(kRootIno, "user.k")) == EROFS);
  CHECK(err_of(t->getxattr(kRootIno, "user.k").status()) == ENODATA);
  CHECK(t->listxattr(kRootIno)->empty());
}

TEST_CASE("xattr block decode: every damaged block is EIO, never a crash") {
  const uint32_t seed = 0x1234, owner = 12, bs = 1024;
  XattrSet set;
  for (int i = 0; i < 6; ++i)
    REQUIRE(xattr_put(set, {kXattrUser, "n" + std::to_string(i)},
                      bytes_of(std::string(size_t(i) * 7, 'v')), 0).is_ok());
  std::vector<std::byte> block(bs);
  REQUIRE(encode_xattr_block(set, owner, seed, block).is_ok());
  REQUIRE(decode_xattr_block(block, owner, seed).is_ok());
  CHECK(decode_xattr_block(block, owner + 1, seed).status().code() == EIO);
  auto bad_crc = block;
  bad_crc[40] ^= std::byte{1};
  CHECK(decode_xattr_block(bad_crc, owner, seed).status().code() == EIO);

  const uint32_t rng_seed = 20261121;
  INFO("rng seed " << rng_seed);
  std::mt19937 rng(rng_seed);
  const uint32_t used = get_u32(block.data() + 12);
  for (int round = 0; round < 5000; ++round) {
    auto b = block;
    const int flips = 1 + int(rng() % 4);
    for (int k = 0; k < flips; ++k) {
      const size_t at = rng() % (kXattrHeaderSize + used);
      b[at] = std::byte(rng());
    }
    // A correct checksum, so that the structural checks are what is tested.
    put_u32(b.data() + bs - 4, crc32c(seed, std::span(b).first(bs - 4)));
    auto r = decode_xattr_block(b, owner, seed);
    if (r.is_ok()) {
      std::vector<std::byte> again(bs);
      CHECK(encode_xattr_block(*r, owner, seed, again).is_ok());
    } else {
      CHECK(r.status().code() == EIO);
    }
  }
}

TEST_CASE("xattrs: random operations match a model across remounts") {
  TestFs t;
  const uint32_t rng_seed = 7;
  INFO("rng seed " << rng_seed);
  std::mt19937 rng(rng_seed);
  std::vector<Ino> files;
  for (int i = 0; i < 4; ++i) files.push_back(new_file(t, "f" + std::to_string(i)));
  std::map<std::pair<Ino, std::string>, std::string> model;
  for (int step = 0; step < 2000; ++step) {
    const Ino f = files[rng() % files.size()];
    const std::string name = "user.k" + std::to_string(rng() % 12);
    const std::string value(rng() % 300, char('a' + rng() % 26));
    const auto key = std::make_pair(f, name);
    INFO("step " << step << " ino " << f << " " << name);
    switch (rng() % 4) {
      case 0:
      case 1: {
        Status st = t->setxattr(f, name, bytes_of(value), 0);
        if (st.is_ok()) model[key] = value;
        else CHECK(st.code() == ENOSPC);
        break;
      }
      case 2: {
        const int want = model.count(key) ? 0 : ENODATA;
        CHECK(err_of(t->removexattr(f, name)) == want);
        model.erase(key);
        break;
      }
      default: {
        auto v = t->getxattr(f, name);
        if (model.count(key)) CHECK(string_of(*v) == model[key]);
        else CHECK(err_of(v.status()) == ENODATA);
      }
    }
    if (step % 500 == 499) {
      t.remount();
      for (auto& [k, v] : model) CHECK(get(t, k.first, k.second) == v);
    }
  }
  CHECK(t->check_free_counts().is_ok());
}
