// The format's two walks over the 13 block pointers (fusefs/format.h),
// over a map of blocks in memory: file order, ranges, bounds, clearing.
#include <catch2/catch.hpp>
#include <map>

#include "base/coding.h"
#include "fusefs/format.h"

using namespace cardfs;
using namespace cardfs::fusefs;

namespace {

constexpr uint32_t kPtrs = 4;  // a 16-byte block: small trees, every level reached

struct Blocks {
  std::map<uint64_t, std::vector<uint32_t>> m;
  std::vector<uint64_t> reads;

  Result<std::vector<std::byte>> read(uint64_t b) {
    reads.push_back(b);
    std::vector<std::byte> out(4 * kPtrs);
    auto it = m.find(b);
    if (it != m.end())
      for (uint32_t i = 0; i < kPtrs; ++i) put_u32(out.data() + 4 * i, it->second[i]);
    return out;
  }
};

PointerTreeWalk walk_over(Blocks& blocks, uint64_t limit) {
  PointerTreeWalk w;
  w.ptrs_per_block = kPtrs;
  w.unwritten_feature = true;
  w.in_bounds = [limit](uint64_t b) { return b >= 100 && b < limit; };
  w.read = [&blocks](uint64_t b) { return blocks.read(b); };
  return w;
}

}  // namespace

TEST_CASE("walk_pointer_tree: every pointer in file order, data unmarked") {
  Blocks blocks;
  std::array<uint32_t, kBlockPointers> top{};
  top[0] = 100;
  top[3] = 101 | kUnwrittenBit;
  top[10] = 200;  // single indirect: file blocks 10..13
  top[11] = 300;  // double: 14..29
  blocks.m[200] = {0, 102, 0, 103};
  blocks.m[300] = {0, 301, 0, 0};
  blocks.m[301] = {104, 0, 0, 0};
  std::vector<std::pair<uint64_t, uint64_t>> seen;  // (file block, block) of data
  std::vector<uint64_t> unwritten;
  PointerTreeWalk w = walk_over(blocks, 1000);
  w.enter = [&](const PointerRef& r, uint64_t b) -> Result<Visit> {
    REQUIRE(r.in_bounds);
    if (r.level == 0) seen.emplace_back(r.file_block, b);
    if (r.unwritten) unwritten.push_back(r.file_block);
    return Visit::kDescend;
  };
  REQUIRE(walk_pointer_tree(top, w).is_ok());
  CHECK(seen == std::vector<std::pair<uint64_t, uint64_t>>{{0, 100}, {3, 101}, {11, 102}, {13, 103}, {18, 104}});
  CHECK(unwritten == std::vector<uint64_t>{3});
  CHECK(blocks.reads == std::vector<uint64_t>{200, 300, 301});
}

TEST_CASE("walk_pointer_tree: a pointer out of bounds reaches the visitor and is never read") {
  Blocks blocks;
  std::array<uint32_t, kBlockPointers> top{};
  top[10] = 5000;  // past the bounds
  top[11] = 300;
  blocks.m[300] = {7, 0, 0, 0};  // an indirect block naming block 7, below them
  std::vector<uint64_t> out_of_bounds;
  PointerTreeWalk w = walk_over(blocks, 1000);
  w.enter = [&](const PointerRef& r, uint64_t b) -> Result<Visit> {
    if (!r.in_bounds) out_of_bounds.push_back(b);
    return Visit::kDescend;  // asked, but the walk does not follow it
  };
  REQUIRE(walk_pointer_tree(top, w).is_ok());
  CHECK(out_of_bounds == std::vector<uint64_t>{5000, 7});
  CHECK(blocks.reads == std::vector<uint64_t>{300});
}

TEST_CASE("walk_pointer_tree: a range visits only what reaches it, and kStop ends the walk") {
  Blocks blocks;
  std::array<uint32_t, kBlockPointers> top{};
  for (uint32_t i = 0; i < 10; ++i) top[i] = 100 + i;
  top[10] = 200;
  blocks.m[200] = {110, 111, 112, 113};
  std::vector<uint64_t> fbs;
  PointerTreeWalk w = walk_over(blocks, 1000);
  w.first = 8;
  w.end = 12;
  w.enter = [&](const PointerRef& r, uint64_t) -> Result<Visit> {
    if (r.level == 0) fbs.push_back(r.file_block);
    return Visit::kDescend;
  };
  REQUIRE(walk_pointer_tree(top, w).is_ok());
  CHECK(fbs == std::vector<uint64_t>{8, 9, 10, 11});
  fbs.clear();
  w.first = 0;
  w.end = UINT64_MAX;
  w.enter = [&](const PointerRef& r, uint64_t) -> Result<Visit> {
    fbs.push_back(r.file_block);
    return r.file_block == 2 ? Visit::kStop : Visit::kDescend;
  };
  REQUIRE(walk_pointer_tree(top, w).is_ok());
  CHECK(fbs == std::vector<uint64_t>{0, 1, 2});
}

TEST_CASE("walk_pointer_tree: cleared pointers reach leave as zeros, children first") {
  Blocks blocks;
  std::array<uint32_t, kBlockPointers> top{};
  top[11] = 300;
  blocks.m[300] = {301, 302, 0, 0};
  blocks.m[301] = {104, 105, 0, 0};
  blocks.m[302] = {106, 0, 0, 0};
  std::vector<std::string> events;
  PointerTreeWalk w = walk_over(blocks, 1000);
  w.first = 14;  // file blocks 14.. : all of 301, and 302's 106 at 18
  w.end = 19;
  w.enter = [&](const PointerRef& r, uint64_t b) -> Result<Visit> {
    if (r.level > 0) return Visit::kDescend;
    events.push_back("free " + std::to_string(b));
    return b == 105 ? Visit::kSkip : Visit::kCleared;  // 105 stays
  };
  w.leave = [&](const PointerRef&, uint64_t b, std::span<const uint32_t> e, bool changed) -> Result<Visit> {
    bool empty = true;
    for (uint32_t x : e) empty &= x == 0;
    events.push_back("leave " + std::to_string(b) + (changed ? " changed" : "") + (empty ? " empty" : ""));
    return empty ? Visit::kCleared : Visit::kSkip;
  };
  REQUIRE(walk_pointer_tree(top, w).is_ok());
  CHECK(events == std::vector<std::string>{"free 104", "free 105", "leave 301 changed", "free 106",
                                           "leave 302 changed empty", "leave 300 changed"});
}

TEST_CASE("walk_pointer_tree: a short indirect block is an error, not a read past its end") {
  std::array<uint32_t, kBlockPointers> top{};
  top[10] = 200;
  PointerTreeWalk w;
  w.ptrs_per_block = kPtrs;
  w.in_bounds = [](uint64_t) { return true; };
  w.read = [](uint64_t) -> Result<std::vector<std::byte>> { return std::vector<std::byte>(8); };
  w.enter = [](const PointerRef&, uint64_t) -> Result<Visit> { return Visit::kDescend; };
  CHECK(walk_pointer_tree(top, w).code() == EIO);
}

TEST_CASE("walk_pointer_path: allocates the path, checks what it follows, stores the leaf") {
  struct Node {
    std::vector<uint32_t>* e;
    size_t size() const { return 4 * e->size(); }
    uint32_t get(uint32_t slot) const { return (*e)[slot]; }
    Status set(uint32_t slot, uint32_t v) {
      (*e)[slot] = v;
      return Status::ok();
    }
  };
  struct Io {
    std::map<uint64_t, std::vector<uint32_t>> m;
    uint64_t next = 500;
    Status check(uint64_t ptr, uint64_t fb) {
      return ptr < 1000 ? Status::ok() : Status::error(EIO, "bad " + std::to_string(ptr) + " at " + std::to_string(fb));
    }
    Result<uint64_t> allocate() {
      m[next].assign(kPtrs, 0);
      return next++;
    }
    Result<Node> read(uint64_t b) { return Node{&m[b]}; }
  } io;
  std::array<uint32_t, kBlockPointers> top{};
  auto path = pointer_path(18, kPtrs);  // double indirect: slots 0 then 1 and 0
  REQUIRE(path.is_ok());
  auto store = [](uint32_t& raw) -> Result<bool> {
    raw = 104;
    return true;
  };
  CHECK(*walk_pointer_path(top[path->slot[0]], *path, 18, false, io, store) == false);
  CHECK(io.m.empty());
  CHECK(*walk_pointer_path(top[path->slot[0]], *path, 18, true, io, store) == true);
  CHECK(top[11] == 500);
  CHECK(io.m[500] == std::vector<uint32_t>{0, 501, 0, 0});
  CHECK(io.m[501] == std::vector<uint32_t>{104, 0, 0, 0});
  io.m[500][1] = 5000;  // corrupt: the walk stops before following it
  CHECK(walk_pointer_path(top[path->slot[0]], *path, 18, false, io, store).status().code() == EIO);
}
