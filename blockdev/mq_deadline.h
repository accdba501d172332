// mq-deadline: Linux's deadline I/O scheduler, one priority level.
//
// Per direction (reads; writes and discards) a sort list by sector and a
// FIFO by arrival with a deadline (read_expire 500 ms, write_expire 5 s).
// Requests go out in batches of up to fifo_batch in ascending sector order;
// a new batch prefers reads, but writes get a batch after writes_starved
// read batches while writes wait; a batch starts at the FIFO's head when
// that request has expired. Not thread-safe (the queue's lock covers it).
#pragma once

#include <list>
#include <set>

#include "blockdev/elevator.h"

namespace cardfs::blockdev {

struct DeadlineTunables {
  uint32_t read_expire_ms = 500;
  uint32_t write_expire_ms = 5000;
  uint32_t fifo_batch = 16;
  uint32_t writes_starved = 2;
  uint32_t front_merges = 1;
};

class DeadlineElevator final : public Elevator {
 public:
  const char* name() const override { return "mq-deadline"; }
  void insert(Request* rq, Nanos now) override;
  Request* dispatch(Nanos now) override;
  void remove(Request* rq) override;
  void merged(Request* kept, Request* gone) override;
  void repositioned(Request* rq) override;
  bool allows_front_merges() const override { return t_.front_merges != 0; }
  size_t size() const override { return fifo_[0].size() + fifo_[1].size(); }
  std::vector<Request*> drain() override;

  std::vector<std::string> tunable_names() const override;
  Result<std::string> read_tunable(std::string_view name) const override;
  Status write_tunable(std::string_view name, std::string_view value) override;

 private:
  static int dir(const Request* rq) { return rq->is_write() ? 1 : 0; }
  uint32_t* tunable(std::string_view name);
  Request* first_at_or_after(int d, uint64_t pos) const;
  Request* choose(int d, Nanos now) const;
  void take(Request* rq);

  DeadlineTunables t_;
  std::set<Request*, BySector> sort_[2];
  std::list<Request*> fifo_[2];  // oldest first; deadlines ascend
  Request* next_[2] = {nullptr, nullptr};  // continues the current batch
  uint64_t last_end_[2] = {0, 0};
  uint32_t batching_ = 0;
  uint32_t starved_ = 0;
};

}  // namespace cardfs::blockdev
