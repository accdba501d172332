#include "blockdev/limits.h"

#include <algorithm>

namespace cardfs::blockdev {

namespace {

uint32_t pieces(uint64_t bytes, uint32_t max_segment_size) {
  return uint32_t((bytes + max_segment_size - 1) / max_segment_size);
}

bool same_kind(const IoShape& a, const IoShape& b) {
  return a.op == b.op && is_mergeable(a.op, a.flags) && is_mergeable(b.op, b.flags);
}

uint64_t size_cap(BioOp op, const QueueLimits& limits) {
  return op == BioOp::kDiscard ? limits.max_discard_sectors : limits.max_sectors();
}

bool fits(const IoShape& a, const IoShape& b, const QueueLimits& limits) {
  if (a.sectors + b.sectors > size_cap(a.op, limits)) return false;
  if (a.op == BioOp::kDiscard) return true;
  return a.segments + b.segments <= limits.max_segments;
}

}  // namespace

uint32_t count_segments(std::span<const Segment> segs, uint32_t max_segment_size) {
  uint32_t n = 0;
  uint64_t run = 0;  // bytes of the memory-contiguous run being built
  const std::byte* run_end = nullptr;
  for (const auto& s : segs) {
    if (run > 0 && s.data == run_end) {
      run += s.len;
    } else {
      n += pieces(run, max_segment_size);
      run = s.len;
    }
    run_end = s.data + s.len;
  }
  return n + pieces(run, max_segment_size);
}

IoShape shape_of(const Bio& bio, const QueueLimits& limits) {
  return IoShape{bio.op, bio.flags, bio.sector, bio.sectors(),
                 count_segments(bio.segments, limits.max_segment_size)};
}

bool is_mergeable(BioOp op, uint32_t flags) {
  return op != BioOp::kFlush && (flags & (kBioFua | kBioPreflush)) == 0;
}

MergeKind classify_merge(const IoShape& rq, const IoShape& bio, const QueueLimits& limits) {
  if (!same_kind(rq, bio) || !fits(rq, bio, limits)) return MergeKind::kNone;
  if (rq.end() == bio.sector) return MergeKind::kBack;
  if (bio.end() == rq.sector) return MergeKind::kFront;
  return MergeKind::kNone;
}

bool can_merge_requests(const IoShape& front, const IoShape& back, const QueueLimits& limits) {
  return same_kind(front, back) && front.end() == back.sector && fits(front, back, limits);
}

uint64_t split_sectors(const Bio& bio, const QueueLimits& limits) {
  const uint64_t total = bio.sectors();
  if (bio.op == BioOp::kDiscard) return std::min(total, limits.max_discard_sectors);
  if (bio.op == BioOp::kFlush) return total;
  // Walk the segments, stopping before the sector or segment cap.
  const uint64_t cap_bytes = limits.max_sectors() * kSectorSize;
  uint64_t bytes = 0;
  uint32_t segs = 0;
  uint64_t run = 0;
  const std::byte* run_end = nullptr;
  for (const auto& s : bio.segments) {
    for (uint32_t off = 0; off < s.len; off += kSectorSize) {
      const std::byte* p = s.data + off;
      bool extends = run > 0 && p == run_end && run + kSectorSize <= limits.max_segment_size;
      if (!extends && segs == limits.max_segments) return bytes / kSectorSize;
      if (bytes + kSectorSize > cap_bytes) return bytes / kSectorSize;
      if (extends) {
        run += kSectorSize;
      } else {
        ++segs;
        run = kSectorSize;
      }
      run_end = p + kSectorSize;
      bytes += kSectorSize;
    }
  }
  return bytes / kSectorSize;
}

}  // namespace cardfs::blockdev
