// Readdir positions: listings resumed from any cookie while the directory
// changes (leaf splits, deletions, the linear -> indexed conversion, a
// dropped index), hash collisions, and the reserved positions of . and ..
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "base/crc32c.h"
#include "fusefs/dir_block.h"
#include "tests/fusefs/fs_fixture.h"

using namespace cardfs;
using namespace cardfs::fusefs;
using namespace cardfs::fusefs::testing;

namespace {

struct Seen {
  std::string name;
  uint64_t cookie = 0, next_cookie = 0;
};

struct Batch {
  std::vector<Seen> entries;  // without . and ..
  uint64_t next = 0;          // where the next batch starts
  bool end = false;           // the listing is complete
};

// At most `size` entries from `cookie`, taken as the FUSE adapter fills a
// reply: a refused entry also gives back those before it in its group.
// naive: keeps partial groups (a caller that ignores the group rule).
Batch read_batch(TestFs& t, Ino dir, uint64_t cookie, size_t size, bool naive = false) {
  Batch b;
  std::vector<Seen> got;
  bool refused = false;
  REQUIRE(t->readdir(dir, cookie, [&](const DirEntry& e) {
    if (got.size() == size) {
      while (!naive && !got.empty() && got.back().cookie == e.cookie) got.pop_back();
      refused = true;
      return false;
    }
    got.push_back({std::string(e.name), e.cookie, e.next_cookie});
    return true;
  }).is_ok());
  REQUIRE_FALSE((refused && got.empty()));  // a group larger than a batch
  b.end = !refused;
  b.next = got.empty() ? cookie : got.back().next_cookie;
  for (auto& s : got)
    if (s.name != "." && s.name != "..") b.entries.push_back(s);
  return b;
}

// Everything from `cookie` to the end, in batches of `size`.
std::vector<Seen> list_from(TestFs& t, Ino dir, uint64_t cookie, size_t size) {
  std::vector<Seen> out;
  for (int rounds = 0;; ++rounds) {
    REQUIRE(rounds < 100000);
    Batch b = read_batch(t, dir, cookie, size);
    out.insert(out.end(), b.entries.begin(), b.entries.end());
    if (b.end) return out;
    cookie = b.next;
  }
}

uint32_t number_in(std::string_view name) {
  auto at = name.find_first_of("0123456789");
  return at == name.npos ? crc32c(std::as_bytes(std::span(name.data(), name.size())))
                         : uint32_t(std::stoul(std::string(name.substr(at))));
}

// Hash modes: the real hashes; 3 index hashes for everything (minor hashes
// keep positions apart); or also minor hashes chosen so that "n<i>" and
// "n<i+3>" share a whole position (groups of two).
enum class Collide { kNone, kMajor, kFull };

FsOptions options_for(Collide c) {
  FsOptions o = sized(32 << 20, 1024);  // small leaves: many splits
  if (c != Collide::kNone)
    o.mount.hash_override = [](std::string_view n) { return (number_in(n) % 3) << 8; };
  if (c == Collide::kFull)
    o.mount.minor_hash_override = [](std::string_view n) { return (number_in(n) / 6) << 1; };
  return o;
}

const char* mode_name(Collide c) {
  return c == Collide::kNone ? "real hashes" : c == Collide::kMajor ? "index hashes collide"
                                                                    : "whole positions collide";
}

struct Dir {
  Ino ino = 0;
  Ino target = 0;  // every name is a hard link to this file
};

Dir make_dir(TestFs& t) {
  Dir d;
  d.ino = t->mkdir(kRootIno, "d", 0755, {})->ino;
  d.target = t->mknod(kRootIno, "target", S_IFREG | 0644, 0, {})->ino;
  return d;
}

void add(TestFs& t, const Dir& d, const std::string& name) {
  auto a = t->link(d.target, d.ino, name);
  INFO(name << ": " << a.status().to_string());
  REQUIRE(a.is_ok());
  t->forget(a->ino, 1);
}

}  // namespace

TEST_CASE(". and .. come first at positions 0 and 1") {
  TestFs t(sized(16 << 20, 1024));
  Dir d = make_dir(t);
  for (int i = 0; i < 100; ++i) add(t, d, "n" + std::to_string(i));  // indexed
  std::vector<Seen> all;
  REQUIRE(t->readdir(d.ino, 0, [&](const DirEntry& e) {
    all.push_back({std::string(e.name), e.cookie, e.next_cookie});
    return true;
  }).is_ok());
  REQUIRE(all.size() == 102);
  CHECK(all[0].name == ".");
  CHECK((all[0].cookie == 0 && all[0].next_cookie == 1));
  CHECK(all[1].name == "..");
  CHECK((all[1].cookie == 1 && all[1].next_cookie == 2));
  for (size_t i = 2; i < all.size(); ++i) {
    CHECK(all[i].cookie > all[i - 1].cookie);  // position order, no repeats
    CHECK(all[i].next_cookie == all[i].cookie + 1);
    CHECK(all[i].next_cookie < (uint64_t(1) << 63));  // a positive off_t
  }
  std::vector<std::string> from1, from2;
  REQUIRE(t->readdir(d.ino, 1, [&](const DirEntry& e) {
    from1.emplace_back(e.name);
    return true;
  }).is_ok());
  REQUIRE(t->readdir(d.ino, 2, [&](const DirEntry& e) {
    from2.emplace_back(e.name);
    return true;
  }).is_ok());
  CHECK(from1.front() == "..");
  CHECK(from1.size() == 101);
  CHECK(from2.front() == all[2].name);
  CHECK(from2.size() == 100);
}

TEST_CASE("a listing in small batches sees each lasting name once while leaves split and names go") {
  const Collide mode = GENERATE(Collide::kNone, Collide::kMajor, Collide::kFull);
  const uint32_t seed = GENERATE(1u, 2u);
  INFO(mode_name(mode) << ", seed " << seed);
  std::mt19937 rng(seed);
  TestFs t(options_for(mode));
  Dir d = make_dir(t);
  // Starts linear (one 1 KiB block): the first additions index it.
  std::set<std::string> lasting, doomed;
  for (int i = 0; i < 15; ++i) lasting.insert("n" + std::to_string(i));
  for (int i = 15; i < 30; ++i) doomed.insert("n" + std::to_string(i));
  for (auto& n : lasting) add(t, d, n);
  for (auto& n : doomed) add(t, d, n);
  REQUIRE_FALSE(t->inspect_inode(d.ino)->flags & kInodeFlagIndex);

  std::map<std::string, int> seen;
  uint64_t cookie = 0;
  int next_new = 1000;
  for (int batch = 0;; ++batch) {
    REQUIRE(batch < 5000);
    Batch b = read_batch(t, d.ino, cookie, 5);
    for (auto& e : b.entries) ++seen[e.name];
    if (b.end) break;
    cookie = b.next;
    if (batch >= 40) continue;  // then let the listing finish
    for (int k = 0; k < 25; ++k) add(t, d, "n" + std::to_string(next_new++));
    for (int k = 0; k < 3 && !doomed.empty(); ++k) {
      auto it = std::next(doomed.begin(), rng() % doomed.size());
      REQUIRE(t->unlink(d.ino, *it).is_ok());
      doomed.erase(it);
    }
  }
  CHECK(t->inspect_inode(d.ino)->flags & kInodeFlagIndex);
  CHECK(t->inspect_inode(d.ino)->size / 1024 > 20);  // many leaf splits
  for (auto& n : lasting) {
    INFO(n);
    CHECK(seen[n] == 1);
  }
  for (auto& [n, count] : seen) {
    INFO(n);
    CHECK(count == 1);  // no name twice, added or removed ones included
  }
}

TEST_CASE("resuming at a saved cookie continues right after its entry, after any changes") {
  const Collide mode = GENERATE(Collide::kNone, Collide::kMajor, Collide::kFull);
  INFO(mode_name(mode));
  std::mt19937 rng(11);
  TestFs t(options_for(mode));
  Dir d = make_dir(t);
  for (int i = 0; i < 300; ++i) add(t, d, "n" + std::to_string(i));
  const std::vector<Seen> first = list_from(t, d.ino, 0, 7);
  REQUIRE(first.size() == 300);

  std::vector<size_t> saved;  // indexes into `first` whose cookies are kept
  for (int k = 0; k < 12; ++k) saved.push_back(rng() % first.size());
  std::set<std::string> gone;
  for (int i = 300; i < 900; ++i) add(t, d, "n" + std::to_string(i));  // splits
  for (int k = 0; k < 80; ++k) {
    const std::string& n = first[rng() % first.size()].name;
    if (gone.insert(n).second) REQUIRE(t->unlink(d.ino, n).is_ok());
  }
  const std::set<std::string> originals = [&] {
    std::set<std::string> s;
    for (auto& e : first) s.insert(e.name);
    return s;
  }();
  for (size_t i : saved) {
    INFO("resuming after entry " << i << " (" << first[i].name << ")");
    // The cookie of a group's non-last member points back at the group.
    const uint64_t cookie = first[i].next_cookie;
    std::vector<std::string> expected;
    for (size_t j = 0; j < first.size(); ++j)
      if (first[j].cookie >= cookie && !gone.count(first[j].name)) expected.push_back(first[j].name);
    std::vector<std::string> got;
    std::set<std::string> unique;
    for (auto& e : list_from(t, d.ino, cookie, 7)) {
      CHECK(unique.insert(e.name).second);
      if (originals.count(e.name)) got.push_back(e.name);
    }
    CHECK(got == expected);
  }
}

TEST_CASE("a caller that splits a group of equal positions sees part of it again, never loses any") {
  TestFs t(options_for(Collide::kFull));
  Dir d = make_dir(t);
  std::set<std::string> names;
  for (int i = 0; i < 120; ++i) names.insert("n" + std::to_string(i));
  for (auto& n : names) add(t, d, n);
  std::map<std::string, int> seen;
  uint64_t cookie = 0;
  int repeats = 0;
  for (int batch = 0;; ++batch) {
    REQUIRE(batch < 1000);
    Batch b = read_batch(t, d.ino, cookie, 3, /*naive=*/true);
    for (auto& e : b.entries) repeats += ++seen[e.name] > 1;
    if (b.end) break;
    cookie = b.next;
  }
  CHECK(seen.size() == names.size());
  CHECK(repeats > 0);  // batches of 3 split groups of 2
}

TEST_CASE("a listing continues across its directory's index being dropped") {
  TestFs t(sized(16 << 20, 1024));
  Dir d = make_dir(t);
  for (int i = 0; i < 300; ++i) add(t, d, "n" + std::to_string(i));
  REQUIRE(t->inspect_inode(d.ino)->flags & kInodeFlagIndex);
  std::set<std::string> seen;
  Batch b = read_batch(t, d.ino, 0, 120);
  for (auto& e : b.entries) seen.insert(e.name);
  REQUIRE_FALSE(b.end);

  // Unknown hash version in the index root, with a valid block checksum.
  const uint64_t root_block = *t->bmap(d.ino, 0);
  t.unmount();
  std::vector<std::byte> blk(1024);
  t.dev().peek_bytes(root_block * 1024, blk);
  blk[28] = std::byte{77};
  dir_block::seal(blk, uint32_t(d.ino), t.summary().sb.csum_seed());
  t.dev().poke_bytes(root_block * 1024, blk);
  REQUIRE(t.try_mount().is_ok());

  for (auto& e : list_from(t, d.ino, b.next, 50)) CHECK(seen.insert(e.name).second);
  CHECK(seen.size() == 300);
  CHECK_FALSE(t->inspect_inode(d.ino)->flags & kInodeFlagIndex);
}
