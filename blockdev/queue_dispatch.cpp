// Queue: insertion into the elevator, barriers, dispatch to the driver and
// completion. See queue.cpp for the lock rules.
#include "blockdev/queue.h"
#include "blockdev/queue_internal.h"

#include "base/log.h"

namespace cardfs::blockdev {

uint32_t io_bits(const IoShape& s) {
  using namespace blktrace;
  uint32_t c = 0;
  switch (s.op) {
    case BioOp::kRead: c = kTcRead; break;
    case BioOp::kWrite: c = kTcWrite; break;
    // A flush bio is an empty write with REQ_PREFLUSH (blkdev_issue_flush):
    // Q and G show "FWS". The flush command itself is REQ_OP_FLUSH, a read
    // direction op ("FN"): kFlushCommandBits.
    case BioOp::kFlush: c = kTcWrite | kTcFlush; break;
    case BioOp::kDiscard: c = kTcWrite | kTcDiscard; break;
  }
  if (s.flags & kBioSync) c |= kTcSync;
  if (s.flags & kBioFua) c |= kTcFua;
  if (s.flags & kBioPreflush) c |= kTcFlush;
  if (s.flags & kBioReadahead) c |= kTcAhead;
  if (s.flags & kBioMeta) c |= kTcMeta;
  return category(c);
}

Task current_task() {
  Bio b;
  set_submitter_from_current_thread(b);
  return {b.pid, b.comm};
}

namespace {

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

uint64_t Queue::emit(const TraceEvent& ev) {
  count(ev.act, (ev.io_bits & blktrace::category(blktrace::kTcWrite)) != 0, ev.bytes);
  if (!tracer_.on()) return 0;
  return tracer_.record(ev);
}

uint64_t Queue::trace_io(blktrace::Act act, const IoShape& s, pid_t pid, const std::array<char, 16>& comm,
                         int error, bool has_pdu, uint64_t pdu) {
  return emit({act, io_bits(s), s.sector, uint32_t(s.sectors * kSectorSize), pid, &comm, error, has_pdu,
               pdu});
}

// Plug and unplug events: no I/O, but __blk_add_trace still adds the
// direction bit of op 0 (a read), so their action words match a kernel's.
void Queue::trace_bare(blktrace::Act act, pid_t pid, const std::array<char, 16>& comm, bool has_pdu,
                       uint64_t pdu) {
  emit({act, blktrace::category(blktrace::kTcRead), 0, 0, pid, &comm, 0, has_pdu, pdu});
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
  // A flush is not inserted as such (blk_insert_flush traces no I); a
  // preflush write's data is, once its flush has completed.
  if (!rq->needs_flush()) trace_io(blktrace::kActInsert, rq->shape, rq->pid, rq->comm);
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
    for (Request* rq : batch) {
      if (rq->needs_flush()) {
        trace_flush_dispatch_locked(rq, me.pid, me.comm);
      } else {
        rq->dispatch_trace_time = trace_io(blktrace::kActIssue, rq->shape, me.pid, me.comm);
      }
    }
    lock.unlock();
    for (Request* rq : batch) {
      if (rq->needs_flush()) {
        start_flush(rq);
      } else {
        start_command(rq);
      }
    }
    lock.lock();
  }
  dispatching_ = false;
}

// Sends rq's data to the driver (for a preflush write: after its flush).
void Queue::start_command(Request* rq) {
  DriverCommand cmd{rq->shape.op, rq->shape.sector, rq->shape.sectors, false,
                    (rq->shape.flags & kBioFua) != 0, map_segments(*rq)};
  rq->device_at_dispatch = driver_.device_time();
  driver_.start(std::move(cmd), [this, rq](int status) { complete(rq, status); });
}

uint64_t Queue::card_done_time(const Request* rq) const {
  if (tracer_.clock_mode() != TraceClock::kCard || !rq->device_at_dispatch || rq->dispatch_trace_time == 0)
    return 0;
  const std::optional<Nanos> now = driver_.device_time();
  if (!now) return 0;
  return rq->dispatch_trace_time + uint64_t(std::max<int64_t>(0, (*now - *rq->device_at_dispatch).count()));
}

// The driver finished rq's data command. (A preflush write's data shows
// without its F, as Linux's flush machinery clears REQ_PREFLUSH.)
void Queue::complete(Request* rq, int status) {
  const Task me = tracer_.on() ? current_task() : Task{};
  TraceEvent ev{blktrace::kActComplete, io_bits(rq->shape) & ~blktrace::category(blktrace::kTcFlush),
                rq->shape.sector, uint32_t(rq->shape.sectors * kSectorSize), me.pid, &me.comm, -status};
  ev.at = card_done_time(rq);
  {
    std::lock_guard lock(mu_);
    emit(ev);
    if (rq->needs_flush()) trace_final_completion(rq, status);
  }
  finish(rq, status);
}

// rq is done: its bios complete, its slot frees, dispatch goes on.
void Queue::finish(Request* rq, int status) {
  {
    std::lock_guard lock(mu_);
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
