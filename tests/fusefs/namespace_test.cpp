// Names: errors a local filesystem gives, rename flags, link counts,
// inode lifetime with lookup counts, symlinks, device nodes, timestamps.
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <catch2/catch.hpp>
#include <map>

#include "tests/fusefs/fs_fixture.h"

using namespace cardfs;
using namespace cardfs::fusefs;
using namespace cardfs::fusefs::testing;

namespace {

Ino mk(TestFs& t, Ino dir, const std::string& name, bool is_dir = false) {
  auto a = is_dir ? t->mkdir(dir, name, 0755, {}) : t->mknod(dir, name, S_IFREG | 0644, 0, {});
  INFO(name << ": " << a.status().to_string());
  REQUIRE(a.is_ok());
  t->forget(a->ino, 1);
  return a->ino;
}

}  // namespace

TEST_CASE("unlinking every name of a file frees its inode and blocks") {
  TestFs t;
  const auto before = *t->statfs();
  Ino f = mk(t, kRootIno, "f");
  REQUIRE(t->write(f, 0, bytes_of(std::string(50000, 'x'))).is_ok());
  REQUIRE(t->link(f, kRootIno, "g").is_ok());
  t->forget(f, 1);
  REQUIRE(t->unlink(kRootIno, "f").is_ok());
  CHECK(t->inspect_inode(f).is_ok());
  REQUIRE(t->unlink(kRootIno, "g").is_ok());
  CHECK(t->inspect_inode(f).status().code() == ENOENT);
  CHECK(t->statfs()->free_blocks == before.free_blocks);
  CHECK(t->statfs()->free_files == before.free_files);
  t.remount();
  CHECK(t->inspect_inode(f).status().code() == ENOENT);
  CHECK(t->statfs()->free_files == before.free_files);
}

TEST_CASE("an unlinked file stays readable while open - its last close frees its blocks and "
          "the last forget its inode") {
  TestFs t;
  const uint64_t free0 = t->statfs()->free_blocks;
  auto a = t->mknod(kRootIno, "open", S_IFREG | 0600, 0, {});
  REQUIRE(a.is_ok());
  REQUIRE(t->open(a->ino).is_ok());
  REQUIRE(t->write(a->ino, 0, bytes_of(std::string(20000, 's'))).is_ok());
  REQUIRE(t->unlink(kRootIno, "open").is_ok());
  std::vector<std::byte> buf(10);
  CHECK(*t->read(a->ino, 0, buf) == 10);
  CHECK(t->getattr(a->ino)->nlink == 0);
  CHECK(t->statfs()->free_blocks == free0 - 5);
  t->release(a->ino);
  CHECK(t->statfs()->free_blocks == free0);
  CHECK(t->getattr(a->ino)->size == 0);
  CHECK(t->open(a->ino).code() == ENOENT);
  const uint64_t free_files = t->statfs()->free_files;
  t->forget(a->ino, 1);
  CHECK(t->statfs()->free_files == free_files + 1);
  CHECK(t->getattr(a->ino).status().code() == ENOENT);
  REQUIRE(t->check_free_counts().is_ok());
}

TEST_CASE("freed space comes back when unlink returns, though the kernel still holds the "
          "file's number") {
  TestFs t(sized(8 << 20));
  auto a = t->mknod(kRootIno, "big", S_IFREG | 0600, 0, {});
  REQUIRE(a.is_ok());
  std::string chunk(64 << 10, 'b');
  uint64_t off = 0;
  for (;;) {
    auto n = t->write(a->ino, off, bytes_of(chunk));
    if (!n.is_ok()) break;
    off += *n;
  }
  REQUIRE(t->statfs()->free_blocks < 4);
  // The file was written and closed, its name is removed; no FORGET yet.
  REQUIRE(t->unlink(kRootIno, "big").is_ok());
  auto b = t->mknod(kRootIno, "next", S_IFREG | 0600, 0, {});
  REQUIRE(b.is_ok());
  auto n = t->write(b->ino, 0, bytes_of(std::string(1 << 20, 'n')));
  REQUIRE(n.is_ok());
  CHECK(*n == 1 << 20);
  t->forget(a->ino, 1);
  REQUIRE(t->check_free_counts().is_ok());
}

TEST_CASE("name errors match a local filesystem") {
  TestFs t;
  Ino d = mk(t, kRootIno, "d", true);
  Ino f = mk(t, kRootIno, "f");
  CHECK(t->lookup(kRootIno, "missing").status().code() == ENOENT);
  CHECK(t->mknod(kRootIno, "f", S_IFREG | 0644, 0, {}).status().code() == EEXIST);
  CHECK(t->mkdir(kRootIno, "d", 0755, {}).status().code() == EEXIST);
  CHECK(t->mknod(kRootIno, std::string(256, 'n'), S_IFREG, 0, {}).status().code() == ENAMETOOLONG);
  CHECK(t->mknod(kRootIno, std::string(255, 'n'), S_IFREG, 0, {}).is_ok());
  CHECK(t->lookup(kRootIno, std::string(256, 'n')).status().code() == ENAMETOOLONG);
  CHECK(t->lookup(f, "x").status().code() == ENOTDIR);
  CHECK(t->mknod(f, "x", S_IFREG, 0, {}).status().code() == ENOTDIR);
  CHECK(t->unlink(kRootIno, "d").code() == EISDIR);
  CHECK(t->rmdir(kRootIno, "f").code() == ENOTDIR);
  mk(t, d, "inner");
  CHECK(t->rmdir(kRootIno, "d").code() == ENOTEMPTY);
  CHECK(t->rmdir(d, ".").code() == EINVAL);
  CHECK(t->write(d, 0, bytes_of("x")).status().code() == EISDIR);
  CHECK(t->readlink(f).status().code() == EINVAL);
  CHECK(t->lookup(d, "..")->ino == kRootIno);
  CHECK(t->lookup(d, ".")->ino == d);
  CHECK(t->getattr(kRootIno)->nlink == 4);  // ., .., lost+found/.., d/..
  REQUIRE(t->unlink(d, "inner").is_ok());
  REQUIRE(t->rmdir(kRootIno, "d").is_ok());
  CHECK(t->getattr(kRootIno)->nlink == 3);
}

TEST_CASE("rename moves, replaces, refuses and exchanges like Linux") {
  TestFs t;
  Ino a = mk(t, kRootIno, "a", true);
  Ino b = mk(t, kRootIno, "b", true);
  Ino sub = mk(t, a, "sub", true);
  Ino f = mk(t, a, "f");
  Ino g = mk(t, b, "g");

  SECTION("a file moves between directories and replaces a file") {
    REQUIRE(t->rename(a, "f", b, "g").is_ok());
    CHECK(t->lookup(b, "g")->ino == f);
    CHECK(t->lookup(a, "f").status().code() == ENOENT);
    CHECK(t->getattr(g).status().code() == ENOENT);  // replaced and freed
  }
  SECTION("a directory moves and its '..' and the link counts follow") {
    REQUIRE(t->rename(a, "sub", b, "moved").is_ok());
    CHECK(t->lookup(sub, "..")->ino == b);
    CHECK(t->getattr(a)->nlink == 2);
    CHECK(t->getattr(b)->nlink == 3);
    t.remount();
    CHECK(t->lookup(sub, "..")->ino == b);
  }
  SECTION("refusals") {
    CHECK(t->rename(kRootIno, "a", sub, "x").code() == EINVAL);  // into its own subtree
    CHECK(t->rename(kRootIno, "a", a, "x").code() == EINVAL);
    CHECK(t->rename(a, "sub", b, "g").code() == ENOTDIR);
    CHECK(t->rename(b, "g", a, "sub").code() == EISDIR);
    CHECK(t->rename(kRootIno, "b", kRootIno, "a").code() == ENOTEMPTY);
    CHECK(t->rename(a, "f", b, "g", kRenameNoReplace).code() == EEXIST);
    CHECK(t->rename(a, "nope", b, "x").code() == ENOENT);
    CHECK(t->rename(a, "f", b, "x", kRenameExchange).code() == ENOENT);
    CHECK(t->rename(a, "f", b, "x", 3).code() == EINVAL);
    CHECK(t->rename(sub, "..", b, "x").code() == EINVAL);
  }
  SECTION("exchange swaps two names, even a file and a directory") {
    REQUIRE(t->rename(a, "sub", b, "g", kRenameExchange).is_ok());
    CHECK(t->lookup(a, "sub")->ino == g);
    CHECK(t->lookup(b, "g")->ino == sub);
    CHECK(t->lookup(sub, "..")->ino == b);
    CHECK(t->getattr(a)->nlink == 2);
    CHECK(t->getattr(b)->nlink == 3);
  }
  SECTION("renaming onto another link of the same inode does nothing") {
    REQUIRE(t->link(f, a, "f2").is_ok());
    REQUIRE(t->rename(a, "f", a, "f2").is_ok());
    CHECK(t->lookup(a, "f")->ino == f);
    CHECK(t->getattr(f)->nlink == 2);
  }
  SECTION("an empty directory can be replaced by a directory") {
    Ino empty = mk(t, b, "empty", true);
    REQUIRE(t->rename(a, "sub", b, "empty").is_ok());
    CHECK(t->getattr(empty).status().code() == ENOENT);
    CHECK(t->getattr(b)->nlink == 3);
    CHECK(t->getattr(a)->nlink == 2);
  }
  CHECK(t->check_free_counts().is_ok());
}

TEST_CASE("symlinks: short targets inline, long ones in a block") {
  TestFs t(sized(16 << 20, 1024));
  std::string short_target(60, 's'), long_target(900, 'l');
  auto s = t->symlink(kRootIno, "short", short_target, {});
  auto l = t->symlink(kRootIno, "long", long_target, {});
  REQUIRE(s.is_ok());
  REQUIRE(l.is_ok());
  CHECK(s->mode == (S_IFLNK | 0777));
  CHECK(s->blocks == 0);
  CHECK(l->blocks == 2);
  CHECK(s->size == 60);
  CHECK(t->symlink(kRootIno, "huge", std::string(1024, 'h'), {}).status().code() == ENAMETOOLONG);
  t.remount();
  CHECK(*t->readlink(s->ino) == short_target);
  CHECK(*t->readlink(l->ino) == long_target);
  const uint64_t free_blocks = t->statfs()->free_blocks;
  REQUIRE(t->unlink(kRootIno, "long").is_ok());
  t->forget(l->ino, 1);
  CHECK(t->statfs()->free_blocks == free_blocks + 1);
}

TEST_CASE("device nodes, fifos and sockets keep their type and rdev") {
  TestFs t;
  auto c = t->mknod(kRootIno, "null", S_IFCHR | 0666, makedev(1, 3), {});
  auto b = t->mknod(kRootIno, "disk", S_IFBLK | 0660, makedev(8, 1), {});
  auto p = t->mknod(kRootIno, "pipe", S_IFIFO | 0644, 0, {});
  auto s = t->mknod(kRootIno, "sock", S_IFSOCK | 0755, 0, {});
  REQUIRE(c.is_ok());
  REQUIRE(b.is_ok());
  REQUIRE(p.is_ok());
  REQUIRE(s.is_ok());
  CHECK(t->mknod(kRootIno, "dir", S_IFDIR | 0755, 0, {}).status().code() == EINVAL);
  t.remount();
  CHECK(t->getattr(c->ino)->rdev == makedev(1, 3));
  CHECK(S_ISBLK(t->getattr(b->ino)->mode));
  CHECK(S_ISFIFO(t->getattr(p->ino)->mode));
  CHECK(S_ISSOCK(t->getattr(s->ino)->mode));
  std::map<std::string, uint8_t> types;
  REQUIRE(t->readdir(kRootIno, 0, [&](const DirEntry& e) {
    types[std::string(e.name)] = e.type;
    return true;
  }).is_ok());
  CHECK(types["null"] == kFtChar);
  CHECK(types["disk"] == kFtBlock);
  CHECK(types["pipe"] == kFtFifo);
  CHECK(types["sock"] == kFtSocket);
}

TEST_CASE("timestamps follow POSIX, atime follows relatime") {
  TestFs t;
  auto& clock = t.clock();
  clock.advance(std::chrono::seconds(10));
  Ino f = mk(t, kRootIno, "f");
  const Attr created = *t->getattr(f);
  CHECK(created.mtime == created.ctime);
  CHECK(t->getattr(kRootIno)->mtime == created.mtime);  // the parent changed too

  clock.advance(std::chrono::seconds(5));
  REQUIRE(t->write(f, 0, bytes_of("data")).is_ok());
  const Attr written = *t->getattr(f);
  CHECK(written.mtime > created.mtime);
  CHECK(written.ctime == written.mtime);
  CHECK(written.atime == created.atime);

  clock.advance(std::chrono::seconds(5));
  std::vector<std::byte> buf(4);
  REQUIRE(t->read(f, 0, buf).is_ok());
  const Attr read1 = *t->getattr(f);
  CHECK(read1.atime > written.mtime);  // atime was older than mtime: updated
  clock.advance(std::chrono::seconds(5));
  REQUIRE(t->read(f, 0, buf).is_ok());
  CHECK(t->getattr(f)->atime == read1.atime);  // relatime: not again within a day
  clock.advance(std::chrono::hours(25));
  REQUIRE(t->read(f, 0, buf).is_ok());
  CHECK(t->getattr(f)->atime > read1.atime);

  clock.advance(std::chrono::seconds(5));
  SetAttr sa;
  sa.mode = 0600;
  sa.mtime = SetAttr::Time::kSet;
  sa.mtime_value = {1000, 5};
  const Attr changed = *t->setattr(f, sa);
  CHECK((changed.mode & 07777) == 0600);
  CHECK(S_ISREG(changed.mode));
  CHECK(changed.mtime == Timespec{1000, 5});
  CHECK(changed.ctime > read1.atime);
  t.remount();
  CHECK(t->getattr(f)->mtime == Timespec{1000, 5});
}

TEST_CASE("link counts are bounded") {
  TestFs t;
  Ino f = mk(t, kRootIno, "f");
  Ino d = mk(t, kRootIno, "d", true);
  for (uint32_t i = 1; i < kMaxLinks; ++i) {
    auto a = t->link(f, d, std::to_string(i));
    REQUIRE(a.is_ok());
    t->forget(f, 1);
  }
  CHECK(t->getattr(f)->nlink == kMaxLinks);
  CHECK(t->link(f, d, "one-too-many").status().code() == EMLINK);
}
