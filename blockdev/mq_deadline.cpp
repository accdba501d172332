#include "blockdev/mq_deadline.h"

#include <algorithm>

#include "base/parse.h"

namespace cardfs::blockdev {

void DeadlineElevator::insert(Request* rq, Nanos now) {
  const int d = dir(rq);
  const uint32_t ms = d ? t_.write_expire_ms : t_.read_expire_ms;
  rq->deadline = now + std::chrono::milliseconds(ms);
  rq->sort_pos = sort_[d].insert(rq).first;
  rq->fifo_pos = fifo_[d].insert(fifo_[d].end(), rq);
}

void DeadlineElevator::remove(Request* rq) {
  const int d = dir(rq);
  if (next_[d] == rq) {
    auto succ = std::next(rq->sort_pos);
    next_[d] = succ == sort_[d].end() ? nullptr : *succ;
  }
  sort_[d].erase(rq->sort_pos);
  fifo_[d].erase(rq->fifo_pos);
}

// The merged request keeps the earlier deadline and that one's FIFO place,
// as dd_merged_requests does.
void DeadlineElevator::merged(Request* kept, Request* gone) {
  if (gone->deadline < kept->deadline) {
    const int d = dir(kept);
    fifo_[d].erase(kept->fifo_pos);
    kept->fifo_pos = fifo_[d].insert(gone->fifo_pos, kept);
    kept->deadline = gone->deadline;
  }
  remove(gone);
}

void DeadlineElevator::repositioned(Request* rq) {
  const int d = dir(rq);
  sort_[d].erase(rq->sort_pos);
  rq->sort_pos = sort_[d].insert(rq).first;
}

Request* DeadlineElevator::first_at_or_after(int d, uint64_t pos) const {
  Request probe;
  probe.shape.sector = pos;
  probe.id = 0;
  auto it = sort_[d].lower_bound(&probe);
  return it == sort_[d].end() ? nullptr : *it;
}

// The request a new batch in direction d starts with: the FIFO head if it
// has expired (or nothing lies ahead of the head position), else the next
// one in sector order.
Request* DeadlineElevator::choose(int d, Nanos now) const {
  Request* head = fifo_[d].front();
  if (head->deadline <= now) return head;
  Request* next = first_at_or_after(d, last_end_[d]);
  return next ? next : head;
}

void DeadlineElevator::take(Request* rq) {
  const int d = dir(rq);
  auto succ = std::next(rq->sort_pos);
  next_[0] = next_[1] = nullptr;
  next_[d] = succ == sort_[d].end() ? nullptr : *succ;
  last_end_[d] = rq->shape.end();
  sort_[d].erase(rq->sort_pos);
  fifo_[d].erase(rq->fifo_pos);
  ++batching_;
}

Request* DeadlineElevator::dispatch(Nanos now) {
  Request* rq = next_[0] ? next_[0] : next_[1];
  if (rq && batching_ < t_.fifo_batch) {
    take(rq);
    return rq;
  }
  const bool reads = !fifo_[0].empty();
  const bool writes = !fifo_[1].empty();
  int d;
  if (reads && !(writes && starved_++ >= t_.writes_starved)) {
    d = 0;
  } else if (writes) {
    starved_ = 0;
    d = 1;
  } else {
    return nullptr;
  }
  rq = choose(d, now);
  batching_ = 0;
  take(rq);
  return rq;
}

std::vector<Request*> DeadlineElevator::drain() {
  std::vector<Request*> out;
  // Oldest first across both directions, by insertion time then id.
  for (int d = 0; d < 2; ++d) out.insert(out.end(), fifo_[d].begin(), fifo_[d].end());
  std::sort(out.begin(), out.end(), [](const Request* a, const Request* b) {
    return a->insert_time != b->insert_time ? a->insert_time < b->insert_time : a->id < b->id;
  });
  for (int d = 0; d < 2; ++d) {
    sort_[d].clear();
    fifo_[d].clear();
    next_[d] = nullptr;
  }
  return out;
}

std::vector<std::string> DeadlineElevator::tunable_names() const {
  return {"read_expire", "write_expire", "fifo_batch", "writes_starved", "front_merges"};
}

uint32_t* DeadlineElevator::tunable(std::string_view name) {
  if (name == "read_expire") return &t_.read_expire_ms;
  if (name == "write_expire") return &t_.write_expire_ms;
  if (name == "fifo_batch") return &t_.fifo_batch;
  if (name == "writes_starved") return &t_.writes_starved;
  if (name == "front_merges") return &t_.front_merges;
  return nullptr;
}

Result<std::string> DeadlineElevator::read_tunable(std::string_view name) const {
  const uint32_t* v = const_cast<DeadlineElevator*>(this)->tunable(name);
  if (!v) return Elevator::read_tunable(name);
  return std::to_string(*v);
}

Status DeadlineElevator::write_tunable(std::string_view name, std::string_view value) {
  uint32_t* v = tunable(name);
  if (!v) return Elevator::write_tunable(name, value);
  Result<uint32_t> number = parse_u32(value);
  if (!number.is_ok()) return number.status().with_context("iosched/" + std::string(name));
  const uint32_t parsed = *number;
  if (name == "fifo_batch" && parsed == 0) return Status::error(EINVAL, "fifo_batch must be > 0");
  if (name == "front_merges" && parsed > 1) return Status::error(EINVAL, "front_merges is 0 or 1");
  *v = parsed;
  return Status::ok();
}

}  // namespace cardfs::blockdev
