// Queue: insertion into the elevator, barriers, dispatch to the driver and
// completion. See queue.cpp for the lock rules.
#include "blockdev/queue.h"

#include "base/log.h"

namespace cardfs::blockdev {

namespace {

bool is_write_op(BioOp op) { return op == BioOp::kWrite || op == BioOp::kDiscard; }

uint32_t io_bits(const IoShape& s) {
  using namespace blktrace;
  uint32_t c = 0;
  switch (s.op) {
    case BioOp::kRead: c = kTcRead; break;
    case BioOp::kWrite: c = kTcWrite; break;
    case BioOp::kFlush: c = kTcRead | kTcFlush; break;  // REQ_OP_FLUSH is not a write op
    case BioOp::kDiscard: c = kTcWrite | kTcDiscard; break;
  }
  if (s.flags & kBioSync) c |= kTcSync;
  if (s.flags & kBioFua) c |= kTcFua;
  if (s.flags & kBioPreflush) c |= kTcFlush;
  if (s.flags & kBioReadahead) c |= kTcAhead;
  if (s.flags & kBioMeta) c |= kTcMeta;
  return category(c);
}

// The calling thread as a trace names it (D and C events).
struct Task {
  pid_t pid;
  std::array<char, 16> comm;
};
Task current_task() {
  Bio b;
  set_submitter_from_current_thread(b);
  return {b.pid, b.comm};
}

// The request's memory as a scatter-gather list, neighbours joined.
std::vector<iovec> map_segments(const Request& rq) {
  std::vector<iovec> iov;
  for (const auto& bio : rq.bios) {
    for (const auto& s : bio->segments) {
      if (!iov.empty() && static_cast<std::byte*>(iov.back().iov_base) + iov.back().iov_len == s.data) {
        iov.back().iov_len += s.len;
      } else {
        iov.push_back({s.data, s.len});
      }
    }
  }
  return iov;
}

}  // namespace

void Queue::trace_io(blktrace::Act act, const IoShape& s, pid_t pid, const std::array<char, 16>& comm,
                     int error, bool has_pdu, uint64_t pdu) {
  const uint64_t bytes = s.sectors * kSectorSize;
  count(act, is_write_op(s.op), bytes);
  if (!tracer_.on()) return;
  tracer_.record({act, io_bits(s), s.sector, uint32_t(bytes), pid, &comm, error, has_pdu, pdu});
}

void Queue::trace_bare(blktrace::Act act, pid_t pid, const std::array<char, 16>& comm, bool has_pdu,
                       uint64_t pdu) {
  count(act, false, 0);
  if (!tracer_.on()) return;
  tracer_.record({act, 0, 0, 0, pid, &comm, 0, has_pdu, pdu});
}

// A request arrives from a plug or a submitter. Behind a pending barrier
// it waits in line; otherwise it may join the request ending where it
// starts (elv_attempt_insert_merge) or enters the elevator.
void Queue::insert_locked(Request* rq) {
  if (!rq->is_barrier() && barrier_line_.empty() && nomerges_.load(std::memory_order_relaxed) == 0) {
    Request* prev = index_.ending_at(rq->shape.op, rq->shape.sector);
    if (prev && can_merge_requests(prev->shape, rq->shape, limits())) {
      index_.remove(prev);
      prev->shape.sectors += rq->shape.sectors;
      prev->shape.segments += rq->shape.segments;
      for (auto& b : rq->bios) prev->bios.push_back(std::move(b));
      index_.add(prev);
      delete rq;
      --allocated_;
      freed_.notify_all();
      return;
    }
  }
  rq->insert_time = clock_.now();
  trace_io(blktrace::kActInsert, rq->shape, rq->pid, rq->comm);
  if (rq->is_barrier() || !barrier_line_.empty()) {
    barrier_line_.push_back(rq);
    return;
  }
  enter_elevator_locked(rq);
}

void Queue::enter_elevator_locked(Request* rq) {
  elevator_->insert(rq, clock_.now());
  index_.add(rq);
}

// What goes to the driver next: the elevator's choice, unless a barrier
// waits and everything before it has been dispatched, in which case the
// barrier goes alone once the device is idle.
Request* Queue::pick_locked() {
  if (barrier_in_flight_) return nullptr;
  if (elevator_->size() > 0) {
    Request* rq = elevator_->dispatch(clock_.now());
    if (rq) {
      index_.remove(rq);
      if (last_merge_ == rq) last_merge_ = nullptr;
    }
    return rq;
  }
  if (barrier_line_.empty() || in_flight_ > 0) return nullptr;
  Request* rq = barrier_line_.front();
  barrier_line_.pop_front();
  barrier_in_flight_ = true;
  return rq;
}

// After a barrier: the requests that waited behind it enter the elevator,
// up to the next barrier.
void Queue::release_barrier_line_locked() {
  while (!barrier_line_.empty() && !barrier_line_.front()->is_barrier()) {
    enter_elevator_locked(barrier_line_.front());
    barrier_line_.pop_front();
  }
}

void Queue::run_dispatch() {
  std::unique_lock lock(mu_);
  if (dispatching_) {
    dispatch_again_ = true;  // the thread dispatching now will look again
    return;
  }
  dispatching_ = true;
  for (;;) {
    dispatch_again_ = false;
    const uint32_t depth = std::min(nr_requests_.load(std::memory_order_relaxed), driver_.queue_depth());
    std::vector<Request*> batch;
    while (in_flight_ < depth) {
      Request* rq = pick_locked();
      if (!rq) break;
      ++in_flight_;
      batch.push_back(rq);
    }
    if (batch.empty()) {
      if (dispatch_again_) continue;
      break;
    }
    const Task me = tracer_.on() ? current_task() : Task{};
    for (Request* rq : batch) trace_io(blktrace::kActIssue, rq->shape, me.pid, me.comm);
    lock.unlock();
    for (Request* rq : batch) {
      DriverCommand cmd{rq->shape.op, rq->shape.sector, rq->shape.sectors,
                        (rq->shape.flags & kBioPreflush) != 0, (rq->shape.flags & kBioFua) != 0,
                        map_segments(*rq)};
      driver_.start(std::move(cmd), [this, rq](int status) { complete(rq, status); });
    }
    lock.lock();
  }
  dispatching_ = false;
}

void Queue::complete(Request* rq, int status) {
  {
    std::lock_guard lock(mu_);
    const Task me = tracer_.on() ? current_task() : Task{};
    trace_io(blktrace::kActComplete, rq->shape, me.pid, me.comm, -status);
    --in_flight_;
    ++completing_;
    if (rq->is_barrier()) {
      barrier_in_flight_ = false;
      release_barrier_line_locked();
    }
  }
  if (status != 0) {
    logger("blockdev")->debug("request {} + {} failed: {}", rq->shape.sector, rq->shape.sectors, status);
  }
  for (auto& bio : rq->bios)
    if (bio->on_complete) bio->on_complete(status);
  free_request(rq);
  run_dispatch();
  std::lock_guard lock(mu_);
  --completing_;
  freed_.notify_all();
}

void Queue::free_request(Request* rq) {
  delete rq;
  std::lock_guard lock(mu_);
  --allocated_;
  freed_.notify_all();
}

void Queue::wait_idle() {
  run_dispatch();
  std::unique_lock lock(mu_);
  freed_.wait(lock, [this] { return allocated_ == 0 && completing_ == 0 && !dispatching_; });
}

}  // namespace cardfs::blockdev
