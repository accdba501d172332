// Queue limits and the merge/split rules, as pure functions.
//
// The limits mirror /sys/block/DEV/queue/: max_sectors_kb caps a request
// (writable, never above max_hw_sectors_kb), max_segments and
// max_segment_size bound the scatter-gather list, logical_block_size is the
// unit of every size. The functions below decide, from the shapes of a
// request and a bio alone, whether they may merge and where a bio must be
// split; the queue applies them. No state, no locks: safe anywhere.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "blockdev/bio.h"

namespace cardfs::blockdev {

struct QueueLimits {
  uint32_t logical_block_size = 512;
  uint32_t max_hw_sectors_kb = 512;   // what the device takes in one command
  uint32_t max_sectors_kb = 512;      // the soft cap, <= max_hw_sectors_kb
  uint32_t max_segments = 256;
  uint32_t max_segment_size = 65536;  // bytes
  uint32_t optimal_io_size = 0;       // bytes; 0 = not reported
  uint64_t max_discard_sectors = 1ull << 22;

  uint64_t max_sectors() const { return uint64_t(max_sectors_kb) * 2; }
};

// What a merge needs to know about a request or a bio.
struct IoShape {
  BioOp op = BioOp::kRead;
  uint32_t flags = 0;
  uint64_t sector = 0;
  uint64_t sectors = 0;
  uint32_t segments = 0;  // physical segments, as count_segments() gives
  uint64_t end() const { return sector + sectors; }
};

enum class MergeKind { kNone, kBack, kFront };

// Physical segments of a segment list: memory-contiguous neighbours
// coalesce, and no segment exceeds max_segment_size (bigger ones count as
// several). This is what the scatter-gather list will hold.
uint32_t count_segments(std::span<const Segment> segs, uint32_t max_segment_size);

IoShape shape_of(const Bio& bio, const QueueLimits& limits);

// Flush, preflush and FUA I/O never merge: they are barriers.
bool is_mergeable(BioOp op, uint32_t flags);

// Where `bio` may join `rq` without breaking a limit (kNone if nowhere).
MergeKind classify_merge(const IoShape& rq, const IoShape& bio, const QueueLimits& limits);

// Whether `back` may be appended to `front` (request-to-request merge).
bool can_merge_requests(const IoShape& front, const IoShape& back, const QueueLimits& limits);

// Largest prefix of `bio` (in sectors) that fits one request, or the whole
// bio when it fits. Never zero for a non-empty bio.
uint64_t split_sectors(const Bio& bio, const QueueLimits& limits);

}  // namespace cardfs::blockdev
