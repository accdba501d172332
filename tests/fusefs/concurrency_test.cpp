// Concurrent users: the daemon is multithreaded. Run under TSan too.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <atomic>
#include <thread>

#include "tests/fusefs/fs_fixture.h"

using namespace cardfs;
using namespace cardfs::fusefs;
using namespace cardfs::fusefs::testing;

namespace {

// Number of contiguous runs of disk blocks holding file blocks [0, n).
int extents(TestFs& t, Ino ino, uint64_t n) {
  int runs = 0;
  uint64_t prev = 0;
  for (uint64_t fb = 0; fb < n; ++fb) {
    uint64_t b = *t->bmap(ino, fb);
    if (b != prev + 1) ++runs;
    prev = b;
  }
  return runs;
}

}  // namespace

TEST_CASE("interleaved writers each get contiguous files (reservation windows)") {
  TestFs t;
  Ino a = t->mknod(kRootIno, "a", S_IFREG | 0644, 0, {})->ino;
  Ino b = t->mknod(kRootIno, "b", S_IFREG | 0644, 0, {})->ino;
  std::string chunk(4096, 'c');
  const uint64_t blocks = 256;
  for (uint64_t i = 0; i < blocks; ++i) {
    REQUIRE(t->write(a, i * 4096, bytes_of(chunk)).is_ok());
    REQUIRE(t->write(b, i * 4096, bytes_of(chunk)).is_ok());
  }
  // Windows grow 8, 16, 32, 64 blocks (256 KiB) then stay: 1 MiB is 7
  // windows, plus the indirect block after block 10. Without windows the
  // two files would alternate block by block (256 extents each).
  CHECK(extents(t, a, blocks) <= 9);
  CHECK(extents(t, b, blocks) <= 9);
  t->release(a);
  t->release(b);
}

TEST_CASE("threads creating, writing, renaming and removing in one directory") {
  TestFs t(sized(64 << 20, 1024));
  REQUIRE(t->mkdir(kRootIno, "shared", 0755, {}).is_ok());
  Ino dir = t->lookup(kRootIno, "shared")->ino;
  const uint64_t free_blocks = t->statfs()->free_blocks;
  constexpr int kThreads = 4, kFiles = 150;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int id = 0; id < kThreads; ++id) {
    threads.emplace_back([&, id] {
      const std::string data(3000 + id * 100, char('a' + id));
      for (int i = 0; i < kFiles; ++i) {
        std::string name = "t" + std::to_string(id) + "-" + std::to_string(i);
        auto f = t->mknod(dir, name, S_IFREG | 0644, 0, {});
        if (!f.is_ok() || !t->write(f->ino, 0, bytes_of(data)).is_ok()) ++failures;
        if (f.is_ok()) t->forget(f->ino, 1);
        if (i % 3 == 0 && !t->rename(dir, name, kRootIno, name + "-moved").is_ok()) ++failures;
        if (i % 5 == 0) {
          const std::string& victim = i % 3 == 0 ? name + "-moved" : name;
          Ino parent = i % 3 == 0 ? kRootIno : dir;
          if (!t->unlink(parent, victim).is_ok()) ++failures;
        }
        if (i % 7 == 0) (void)t->readdir(dir, 0, [](const DirEntry&) { return true; });
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  CHECK(t->check_free_counts().is_ok());
  t.remount();
  size_t in_dir = 0;
  REQUIRE(t->readdir(dir, 0, [&](const DirEntry& e) {
    in_dir += e.name != "." && e.name != "..";
    return true;
  }).is_ok());
  int expected = 0;
  for (int i = 0; i < kFiles; ++i) expected += !(i % 3 == 0) && !(i % 5 == 0);
  CHECK(in_dir == size_t(expected * kThreads));
  for (int id = 0; id < kThreads; ++id) {
    auto f = t->lookup(dir, "t" + std::to_string(id) + "-1");
    REQUIRE(f.is_ok());
    std::vector<std::byte> buf(4000);
    CHECK(*t->read(f->ino, 0, buf) == size_t(3000 + id * 100));
    CHECK(char(buf[0]) == char('a' + id));
  }
  CHECK(t->statfs()->free_blocks < free_blocks);
  CHECK(t->check_free_counts().is_ok());
}

TEST_CASE("concurrent renames between two directories do not deadlock") {
  TestFs t;
  Ino x = t->mkdir(kRootIno, "x", 0755, {})->ino;
  Ino y = t->mkdir(x, "y", 0755, {})->ino;
  for (int i = 0; i < 20; ++i) REQUIRE(t->mknod(x, "f" + std::to_string(i), S_IFREG | 0644, 0, {}).is_ok());
  std::vector<std::thread> threads;
  for (int id = 0; id < 4; ++id) {
    threads.emplace_back([&, id] {
      for (int round = 0; round < 100; ++round) {
        std::string n = "f" + std::to_string((id * 5 + round) % 20);
        (void)t->rename(x, n, y, n);
        (void)t->rename(y, n, x, n);
        (void)t->lookup(y, "..");
        (void)t->mknod(y, "tmp" + std::to_string(id), S_IFREG, 0, {});
        (void)t->unlink(y, "tmp" + std::to_string(id));
      }
    });
  }
  for (auto& th : threads) th.join();
  size_t total = 0;
  for (Ino d : {x, y})
    REQUIRE(t->readdir(d, 0, [&](const DirEntry& e) {
      total += e.name[0] == 'f';
      return true;
    }).is_ok());
  CHECK(total == 20);
  CHECK(t->check_free_counts().is_ok());
}

// The lock order is by inode number, not ancestry: here directories keep
// swapping which is the ancestor (so children often sort before their
// parents and rename, rmdir and lookup must relock), while other threads
// look names up, make and remove subdirectories. Under TSan this also
// checks that the lock-order graph has no cycle.
TEST_CASE("renames that swap ancestor and descendant race lookups and rmdir without deadlock") {
  TestFs t;
  Ino x = t->mkdir(kRootIno, "x", 0755, {})->ino;
  Ino y = t->mkdir(kRootIno, "y", 0755, {})->ino;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  threads.emplace_back([&] {  // x into y and out, then y into x and out
    for (int round = 0; round < 150; ++round) {
      const bool x_down = round % 2 == 0;
      Ino outer = x_down ? y : x;
      const char* inner = x_down ? "x" : "y";
      if (!t->rename(kRootIno, inner, outer, inner).is_ok()) ++failures;
      if (!t->rename(outer, inner, kRootIno, inner).is_ok()) ++failures;
    }
  });
  for (int id = 0; id < 2; ++id) {
    threads.emplace_back([&, id] {  // subdirectories come and go in both
      for (int round = 0; round < 150; ++round) {
        Ino d = (round + id) % 2 ? x : y;
        const std::string n = "s" + std::to_string(id);
        auto m = t->mkdir(d, n, 0755, {});
        if (!m.is_ok()) ++failures;
        else t->forget(m->ino, 1);
        (void)t->lookup(d, "..");
        if (!t->rename(d, n, d, n + "r").is_ok()) ++failures;
        if (!t->rmdir(d, n + "r").is_ok()) ++failures;
      }
    });
  }
  threads.emplace_back([&] {  // lookups of whatever is there now
    for (int round = 0; round < 600; ++round) {
      for (Ino d : {x, y, Ino(kRootIno)}) {
        for (const char* n : {"x", "y", "..", "s0", "s1"}) {
          auto a = t->lookup(d, n);
          if (a.is_ok()) t->forget(a->ino, 1);
          else if (a.status().code() != ENOENT) ++failures;
        }
      }
    }
  });
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  CHECK(t->lookup(kRootIno, "x")->ino == x);
  CHECK(t->lookup(kRootIno, "y")->ino == y);
  for (Ino d : {x, y}) CHECK(t->getattr(d)->nlink == 2);
  CHECK(t->check_free_counts().is_ok());
}
