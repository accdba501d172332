// The journal's commit path in-process (docs/journal.md "Commit"): what
// fsync and fdatasync commit, operations replayed whole after a crash,
// the ring's checkpoints, deferred frees and the journal thread.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "tests/fusefs/fs_fixture.h"

using namespace cardfs;
using namespace cardfs::fusefs;
using namespace cardfs::fusefs::testing;

namespace {

std::string read_file(TestFs& t, const std::string& name) {
  auto a = t->lookup(kRootIno, name);
  if (!a.is_ok()) return "<absent>";
  std::string s(a->size, '\0');
  auto n = t->read(a->ino, 0, std::as_writable_bytes(std::span(s)));
  t->forget(a->ino, 1);
  return n.is_ok() ? s.substr(0, *n) : "<unreadable>";
}

}  // namespace

TEST_CASE("fdatasync of an overwrite commits nothing, fsync of a grown file commits once",
          "[fusefs][journal]") {
  TestFs t;
  REQUIRE(t->journaled());
  Ino f = make_file(t, "f");
  REQUIRE(t->write(f, 0, bytes_of(std::string(20000, 'a'))).is_ok());
  REQUIRE(t->fsync(f, false).is_ok());
  const uint64_t commits = t->journal_counters().commits;
  CHECK(commits >= 1);
  REQUIRE(t->write(f, 4096, bytes_of(std::string(4096, 'b'))).is_ok());  // size and map unchanged
  REQUIRE(t->fsync(f, true).is_ok());
  CHECK(t->journal_counters().commits == commits);
  REQUIRE(t->write(f, 20000, bytes_of("more")).is_ok());  // the size grows: fdatasync needs it
  REQUIRE(t->fsync(f, true).is_ok());
  CHECK(t->journal_counters().commits == commits + 1);
  REQUIRE(t->fsync(f, false).is_ok());  // nothing changed since: no commit
  CHECK(t->journal_counters().commits == commits + 1);
}

TEST_CASE("a committed rename over a name is replayed whole after a crash, an uncommitted one not at all",
          "[fusefs][journal]") {
  TestFs t;
  Ino a = make_file(t, "target");
  REQUIRE(t->write(a, 0, bytes_of("old")).is_ok());
  REQUIRE(t->sync().is_ok());  // committed and checkpointed: home
  Ino b = make_file(t, "tmp");
  REQUIRE(t->write(b, 0, bytes_of("new")).is_ok());
  REQUIRE(t->fsync(b, false).is_ok());
  REQUIRE(t->rename(kRootIno, "tmp", kRootIno, "target").is_ok());
  REQUIRE(t->fsync(kRootIno, false).is_ok());  // the rename's transaction commits
  REQUIRE(t->mkdir(kRootIno, "uncommitted", 0755, {}).is_ok());
  REQUIRE(t.try_mount().is_ok());  // a crash: nothing more reaches the device
  CHECK(t->recovery().needed);
  CHECK(t->recovery().transactions >= 1);
  CHECK(read_file(t, "target") == "new");
  CHECK(read_file(t, "tmp") == "<absent>");
  CHECK(!t->lookup(kRootIno, "uncommitted").is_ok());
  CHECK(t->check_free_counts().is_ok());
}

TEST_CASE("the ring fills, is checkpointed and reused, and every commit survives a crash",
          "[fusefs][journal]") {
  TestFs t;
  const JournalCounters before = t->journal_counters();
  for (int i = 0; i < 600; ++i) {
    Ino f = make_file(t, "f" + std::to_string(i));
    REQUIRE(t->write(f, 0, bytes_of("file " + std::to_string(i))).is_ok());
    REQUIRE(t->fsync(f, false).is_ok());
    t->forget(f, 1);
  }
  const JournalCounters after = t->journal_counters();
  CHECK(after.commits - before.commits >= 600);
  CHECK(after.checkpoints > before.checkpoints);  // 1024 log blocks: refilled many times
  REQUIRE(t.try_mount().is_ok());
  for (int i = 0; i < 600; i += 37) CHECK(read_file(t, "f" + std::to_string(i)) == "file " + std::to_string(i));
  CHECK(t->check_free_counts().is_ok());
}

TEST_CASE("blocks freed by an unlink count as free at once and are reused after the commit",
          "[fusefs][journal]") {
  TestFs t(sized(16ull << 20));
  const uint64_t free0 = t->statfs()->free_blocks;
  Ino f = make_file(t, "big");
  std::string chunk(1 << 20, 'x');
  uint64_t off = 0;
  while (true) {  // fill the filesystem
    auto n = t->write(f, off, bytes_of(chunk));
    if (!n.is_ok() || *n == 0) break;
    off += *n;
  }
  t->forget(f, 1);
  REQUIRE(t->unlink(kRootIno, "big").is_ok());
  CHECK(t->statfs()->free_blocks == free0);  // as ext4 counts them
  Ino g = make_file(t, "again");
  auto n = t->write(g, 0, bytes_of(chunk));  // needs the freed blocks: commits first
  REQUIRE(n.is_ok());
  CHECK(*n == chunk.size());
}

TEST_CASE("the journal thread commits every commit interval", "[fusefs][journal]") {
  TestFs t;
  t->start_journal_thread(std::chrono::seconds(5));
  const uint64_t commits = t->journal_counters().commits;
  REQUIRE(t->mkdir(kRootIno, "d", 0755, {}).is_ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(t->journal_counters().commits == commits);  // not before the interval
  t.clock().advance(std::chrono::seconds(6));
  for (int i = 0; i < 2000 && t->journal_counters().commits == commits; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(t->journal_counters().commits == commits + 1);
  // An fsync hands its commit to the thread and waits for it.
  Ino f = make_file(t, "f");
  REQUIRE(t->fsync(f, false).is_ok());
  CHECK(t->journal_counters().commits == commits + 2);
  t->stop_journal_thread();
}

TEST_CASE("without a journal nothing is held back: fsync writes home", "[fusefs][journal]") {
  FsOptions o;
  o.journal = false;
  TestFs t(o);
  CHECK_FALSE(t->journaled());
  Ino f = make_file(t, "f");
  REQUIRE(t->write(f, 0, bytes_of("data")).is_ok());
  REQUIRE(t->fsync(f, false).is_ok());
  CHECK(t->journal_counters().commits == 0);
  REQUIRE(t.try_mount().is_ok());  // a crash after the fsync
  CHECK(read_file(t, "f") == "data");
}

// The FUSE loop runs FORGETs on its one thread, ahead of the LOOKUPs the
// kernel queued after them: a forget that waited for a commit (its
// checkpoint can take seconds) would hold up every lookup meanwhile.
TEST_CASE("a forget of a named inode does not wait for a running commit, and an unlinked one's last forget still frees it",
          "[fusefs][journal]") {
  TestFs t;
  const Ino named = make_file(t, "named");
  const Ino doomed = make_file(t, "doomed");
  REQUIRE(t->unlink(kRootIno, "doomed").is_ok());  // the kernel still holds it
  REQUIRE(t->mknod(kRootIno, "more", S_IFREG | 0644, 0, {}).is_ok());  // a transaction to commit
  t.dev().set_hold_completions(true);
  std::thread committer([&] { (void)t->commit(); });
  for (int i = 0; i < 5000 && !t->commit_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const bool commit_held = t->commit_running();
  auto forgot = std::async(std::launch::async, [&] { t->forget(named, 1); });
  const bool forget_returned = forgot.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  auto freed = std::async(std::launch::async, [&] { t->forget(doomed, 1); });
  // The unlinked inode's forget takes a handle: it waits for the commit.
  const bool free_waited = freed.wait_for(std::chrono::milliseconds(50)) == std::future_status::timeout;
  t.dev().drain();
  committer.join();
  forgot.get();
  freed.get();
  CHECK(commit_held);
  CHECK(forget_returned);
  CHECK(free_waited);
  CHECK(t->lookup(kRootIno, "named").is_ok());
  CHECK(t->getattr(doomed).status().code() == ENOENT);  // freed at its last forget
  REQUIRE(t->sync().is_ok());
  t.remount();
  CHECK(t->lookup(kRootIno, "named").is_ok());
  CHECK(t->lookup(kRootIno, "more").is_ok());
}
