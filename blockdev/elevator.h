// Elevator: the I/O scheduler that orders a queue's pending requests.
//
// Two exist, chosen by the `scheduler` tunable at run time: "none" (FIFO)
// and "mq-deadline". An elevator only orders; merging is the queue's (with
// MergeIndex below). Not thread-safe: the queue calls it under its lock.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "blockdev/request.h"

namespace cardfs::blockdev {

class Elevator {
 public:
  virtual ~Elevator() = default;
  virtual const char* name() const = 0;
  virtual void insert(Request* rq, Nanos now) = 0;
  // Removes and returns the request to send to the device next, or nullptr.
  virtual Request* dispatch(Nanos now) = 0;
  // Takes out rq, which another request has absorbed.
  virtual void remove(Request* rq) = 0;
  // `kept` absorbed `gone` (a request-to-request merge); gone leaves.
  virtual void merged(Request* kept, Request* gone) { remove(gone); }
  // rq's start sector changed by a front merge; re-sort it.
  virtual void repositioned(Request* rq) {}
  virtual bool allows_front_merges() const { return true; }
  virtual size_t size() const = 0;
  // Removes every request, oldest first (for a scheduler switch).
  virtual std::vector<Request*> drain() = 0;

  // The iosched/ tunables (none has none).
  virtual std::vector<std::string> tunable_names() const { return {}; }
  virtual Result<std::string> read_tunable(std::string_view name) const;
  virtual Status write_tunable(std::string_view name, std::string_view value);
};

// "none" or "mq-deadline"; nullptr for another name.
std::unique_ptr<Elevator> make_elevator(std::string_view name);
inline constexpr const char* kElevatorNames[] = {"mq-deadline", "none"};

// Pending requests by where they start and end, for O(1) merge lookups
// (Linux's elevator hash, plus the front lookup mq-deadline's rb-tree gives).
// One request per key: a second with the same key shadows the first.
class MergeIndex {
 public:
  void add(Request* rq);
  void remove(Request* rq);
  Request* ending_at(BioOp op, uint64_t sector) const;
  Request* starting_at(BioOp op, uint64_t sector) const;

 private:
  static uint64_t key(BioOp op, uint64_t sector) { return sector << 2 | uint64_t(op); }
  std::unordered_map<uint64_t, Request*> by_end_;
  std::unordered_map<uint64_t, Request*> by_start_;
};

}  // namespace cardfs::blockdev
