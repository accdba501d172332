// renameat2(RENAME_WHITEOUT): the source name is left holding a character
// device 0/0 owned by the caller, in the same step as the rename; with an
// exchange it is EINVAL; with NOREPLACE an existing target is EEXIST and
// nothing is made; it persists across a remount.
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <catch2/catch.hpp>

#include "tests/fusefs/fs_fixture.h"

using namespace cardfs;
using namespace cardfs::fusefs;
using namespace cardfs::fusefs::testing;

namespace {

int err_of(const Status& s) { return s.is_ok() ? 0 : s.code(); }

Attr make(TestFs& t, Ino dir, const std::string& name, uint32_t mode) {
  auto a = S_ISDIR(mode) ? t->mkdir(dir, name, mode & 07777, {0, 0})
                         : t->mknod(dir, name, mode, 0, {0, 0});
  REQUIRE(a.is_ok());
  t->forget(a->ino, 1);
  return *a;
}

Result<Attr> look(TestFs& t, Ino dir, const std::string& name) {
  auto a = t->lookup(dir, name);
  if (a.is_ok()) t->forget(a->ino, 1);
  return a;
}

}  // namespace

TEST_CASE("rename whiteout: the source becomes a 0/0 character device of the caller") {
  TestFs t;
  Attr f = make(t, kRootIno, "f", S_IFREG | 0644);
  Attr d = make(t, kRootIno, "d", S_IFDIR | 0755);
  REQUIRE(t->rename(kRootIno, "f", d.ino, "g", kRenameWhiteout, {1000, 100}).is_ok());
  auto moved = look(t, d.ino, "g");
  REQUIRE(moved.is_ok());
  CHECK(moved->ino == f.ino);
  auto wh = look(t, kRootIno, "f");
  REQUIRE(wh.is_ok());
  CHECK(S_ISCHR(wh->mode));
  CHECK((wh->mode & 07777) == 0);
  CHECK(wh->rdev == 0);
  CHECK(wh->uid == 1000);
  CHECK(wh->gid == 100);
  CHECK(wh->nlink == 1);
  // A directory leaves one too; the parents' link counts follow the move.
  Attr sub = make(t, kRootIno, "sub", S_IFDIR | 0755);
  REQUIRE(t->rename(kRootIno, "sub", d.ino, "sub", kRenameWhiteout, {}).is_ok());
  CHECK(S_ISCHR(look(t, kRootIno, "sub")->mode));
  CHECK(look(t, d.ino, "sub")->ino == sub.ino);
  CHECK(t->getattr(d.ino)->nlink == 3);
  t.remount();
  CHECK(S_ISCHR(look(t, kRootIno, "f")->mode));
  CHECK(look(t, d.ino, "g")->ino == f.ino);
  // The whiteout is an ordinary node: it can be removed.
  CHECK(t->unlink(kRootIno, "f").is_ok());
  CHECK(err_of(look(t, kRootIno, "f").status()) == ENOENT);
}

TEST_CASE("rename whiteout: replacing a target, and the refused combinations") {
  TestFs t;
  Attr a = make(t, kRootIno, "a", S_IFREG | 0644);
  make(t, kRootIno, "b", S_IFREG | 0644);
  make(t, kRootIno, "c", S_IFREG | 0644);
  CHECK(err_of(t->rename(kRootIno, "a", kRootIno, "b", kRenameWhiteout | kRenameExchange)) ==
        EINVAL);
  CHECK(err_of(t->rename(kRootIno, "a", kRootIno, "b", kRenameWhiteout | kRenameNoReplace)) ==
        EEXIST);
  CHECK(look(t, kRootIno, "a")->ino == a.ino);  // nothing changed
  REQUIRE(t->rename(kRootIno, "a", kRootIno, "b", kRenameWhiteout).is_ok());
  CHECK(look(t, kRootIno, "b")->ino == a.ino);
  CHECK(S_ISCHR(look(t, kRootIno, "a")->mode));
  REQUIRE(t->rename(kRootIno, "c", kRootIno, "new", kRenameWhiteout | kRenameNoReplace).is_ok());
  CHECK(S_ISCHR(look(t, kRootIno, "c")->mode));
}
