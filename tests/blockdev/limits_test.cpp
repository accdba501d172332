// The merge and split rules as pure functions.
#include <catch2/catch.hpp>

#include "blockdev/limits.h"

using namespace cardfs::blockdev;

namespace {
IoShape w(uint64_t sector, uint64_t sectors, uint32_t segs, uint32_t flags = 0) {
  return IoShape{BioOp::kWrite, flags, sector, sectors, segs};
}
}  // namespace

TEST_CASE("back and front merges need contiguity and the same operation") {
  QueueLimits l;
  CHECK(classify_merge(w(0, 8, 1), w(8, 8, 1), l) == MergeKind::kBack);
  CHECK(classify_merge(w(8, 8, 1), w(0, 8, 1), l) == MergeKind::kFront);
  CHECK(classify_merge(w(0, 8, 1), w(16, 8, 1), l) == MergeKind::kNone);
  IoShape r = w(8, 8, 1);
  r.op = BioOp::kRead;
  CHECK(classify_merge(w(0, 8, 1), r, l) == MergeKind::kNone);
}

TEST_CASE("merges stop at max_sectors_kb and max_segments") {
  QueueLimits l;  // 512 KiB = 1024 sectors, 256 segments
  CHECK(classify_merge(w(0, 1016, 127), w(1016, 8, 1), l) == MergeKind::kBack);
  CHECK(classify_merge(w(0, 1024, 128), w(1024, 8, 1), l) == MergeKind::kNone);
  CHECK(classify_merge(w(0, 256, 256), w(256, 8, 1), l) == MergeKind::kNone);
  l.max_sectors_kb = 64;
  CHECK(classify_merge(w(0, 120, 15), w(120, 8, 1), l) == MergeKind::kBack);
  CHECK(classify_merge(w(0, 128, 16), w(128, 8, 1), l) == MergeKind::kNone);
  CHECK(can_merge_requests(w(0, 64, 8), w(64, 64, 8), l));
  CHECK_FALSE(can_merge_requests(w(0, 64, 8), w(64, 72, 9), l));
}

TEST_CASE("flush, preflush and FUA never merge") {
  QueueLimits l;
  CHECK(classify_merge(w(0, 8, 1), w(8, 8, 1, kBioFua), l) == MergeKind::kNone);
  CHECK(classify_merge(w(0, 8, 1, kBioPreflush), w(8, 8, 1), l) == MergeKind::kNone);
  CHECK_FALSE(is_mergeable(BioOp::kFlush, 0));
  CHECK(is_mergeable(BioOp::kWrite, kBioSync | kBioMeta));
}

TEST_CASE("segments coalesce when memory is contiguous, up to max_segment_size") {
  std::vector<std::byte> mem(1 << 20);
  std::byte* p = mem.data();
  std::vector<Segment> contiguous;
  for (int i = 0; i < 32; ++i) contiguous.push_back({p + i * 4096, 4096});  // 128 KiB
  CHECK(count_segments(contiguous, 65536) == 2);
  CHECK(count_segments(contiguous, 1 << 20) == 1);
  std::vector<Segment> apart = {{p, 4096}, {p + 8192, 4096}, {p + 12288, 4096}};
  CHECK(count_segments(apart, 65536) == 2);
  CHECK(count_segments({}, 65536) == 0);
}

TEST_CASE("split_sectors cuts at the sector cap and at the segment cap") {
  std::vector<std::byte> mem(8 << 20);
  QueueLimits l;
  Bio big;
  big.op = BioOp::kWrite;
  big.segments.push_back({mem.data(), 2560 * 512});  // one contiguous 1.25 MiB segment
  CHECK(split_sectors(big, l) == 1024);
  Bio scattered;
  scattered.op = BioOp::kWrite;
  for (int i = 0; i < 300; ++i) scattered.segments.push_back({mem.data() + i * 1024, 512});
  CHECK(split_sectors(scattered, l) == 256);
  Bio small;
  small.op = BioOp::kWrite;
  small.segments.push_back({mem.data(), 4096});
  CHECK(split_sectors(small, l) == 8);
}
