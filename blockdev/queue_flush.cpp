// Queue: flushes and preflush writes, run and traced as Linux 6.x's flush
// machinery (block/blk-flush.c) does:
//
//   flush bio        Q FWS, G FWS, D FN, C FN 0, C WS 0
//   preflush write   Q FWS s + n, G FWS s + n, D FN, C FN 0,
//                    I WS s + n, D WS s + n, C WS s + n, C WS s
//
// A flush bypasses the plug (no P, U) and is never inserted as such (no
// I): the flush command is REQ_OP_FLUSH ("FN", counted as a read by
// blkparse), sent by the dispatching thread; a preflush write's data is
// inserted and dispatched once the flush completed, from the completing
// thread, without its F; the original request then completes with no
// bytes left ("C WS s [0]"). Both were checked against a kernel trace
// (tests/blockdev/data/, docs/blockdev.md "Flushes").
#include "base/log.h"
#include "blockdev/queue.h"
#include "blockdev/queue_internal.h"

namespace cardfs::blockdev {

using blktrace::category;

void Queue::trace_flush_dispatch_locked(Request* rq, pid_t pid, const std::array<char, 16>& comm) {
  rq->dispatch_trace_time = emit({blktrace::kActIssue, kFlushCommandBits, 0, 0, pid, &comm});
}

void Queue::start_flush(Request* rq) {
  rq->device_at_dispatch = driver_.device_time();
  driver_.start(DriverCommand{BioOp::kFlush, 0, 0, false, false, {}},
                [this, rq](int status) { flush_done(rq, status); });
}

// The flush command of rq completed: a preflush write's data goes next,
// a flush (or a failed preflush) is done.
void Queue::flush_done(Request* rq, int status) {
  const Task me = tracer_.on() ? current_task() : Task{};
  TraceEvent done{blktrace::kActComplete, kFlushCommandBits, 0, 0, me.pid, &me.comm, -status};
  done.at = card_done_time(rq);
  const bool data = status == 0 && rq->shape.op != BioOp::kFlush && rq->shape.sectors > 0;
  {
    std::lock_guard lock(mu_);
    emit(done);
    if (data) {
      IoShape s = rq->shape;
      s.flags &= ~uint32_t(kBioPreflush);
      trace_io(blktrace::kActInsert, s, me.pid, me.comm);
      rq->dispatch_trace_time = trace_io(blktrace::kActIssue, s, me.pid, me.comm);
    } else {
      trace_final_completion(rq, status);
    }
  }
  if (status != 0) logger("blockdev")->debug("flush before sector {} failed: {}", rq->shape.sector, status);
  if (data) return start_command(rq);
  finish(rq, status);
}

// The original request of a flush sequence ends with no bytes left (mu_ held).
void Queue::trace_final_completion(Request* rq, int status) {
  const Task me = tracer_.on() ? current_task() : Task{};
  emit({blktrace::kActComplete, io_bits(rq->shape) & ~category(blktrace::kTcFlush), rq->shape.sector, 0,
        me.pid, &me.comm, -status});
}

}  // namespace cardfs::blockdev
