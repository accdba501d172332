// Request: bios merged into one device command, owned by the queue.
//
// Internal to blockdev (the queue, its plugs and elevators); not for the
// layers above. A request lives in exactly one place at a time: a thread's
// plug, the elevator, the barrier line, or in flight on the driver.
#pragma once

#include <list>
#include <optional>
#include <set>
#include <vector>

#include "base/clock.h"
#include "blockdev/bio.h"
#include "blockdev/limits.h"

namespace cardfs::blockdev {

struct Request;

// Orders requests by sector, then by age, for mq-deadline's sort lists.
struct BySector {
  bool operator()(const Request* a, const Request* b) const;
};

struct Request {
  uint64_t id = 0;           // allocation order, breaks sector ties
  IoShape shape;             // op, flags, sector, sectors, segments
  std::vector<BioPtr> bios;  // in sector order
  Nanos alloc_time{0};       // G
  Nanos insert_time{0};      // I
  Nanos deadline{0};         // mq-deadline's FIFO expiry
  pid_t pid = 0;             // the submitter of its first bio
  std::array<char, 16> comm{};
  // Tracing on the card's timeline: the last D's timestamp and the
  // driver's device time when it was dispatched.
  uint64_t dispatch_trace_time = 0;
  std::optional<Nanos> device_at_dispatch;

  // Elevator bookkeeping (valid only while in the elevator).
  std::list<Request*>::iterator fifo_pos;
  std::set<Request*, BySector>::iterator sort_pos;

  bool is_write() const { return shape.op == BioOp::kWrite || shape.op == BioOp::kDiscard; }
  bool is_barrier() const { return !is_mergeable(shape.op, shape.flags); }
  // Flushes and preflush writes go through Linux's flush machinery (no
  // plug, no I, a separate flush command first): see queue_flush.cpp.
  bool needs_flush() const { return shape.op == BioOp::kFlush || (shape.flags & kBioPreflush) != 0; }
};

inline bool BySector::operator()(const Request* a, const Request* b) const {
  if (a->shape.sector != b->shape.sector) return a->shape.sector < b->shape.sector;
  return a->id < b->id;
}

}  // namespace cardfs::blockdev
