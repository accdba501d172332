// Queue: submission, splitting, plugging and merging. Dispatch and
// completion are in queue_dispatch.cpp, tunables in queue_attrs.cpp.
//
// Lock order: a thread's plug is its own and needs no lock; mu_ is the
// only lock. It is never held while calling the driver or a bio's
// completion.
#include "blockdev/queue.h"

#include <algorithm>

#include "base/log.h"

namespace cardfs::blockdev {

namespace {

// Linux flushes a plug holding this many requests (BLK_MAX_REQUEST_COUNT),
// or once its last request reached BLK_PLUG_FLUSH_SIZE.
constexpr size_t kPlugMaxRequests = 32;
constexpr uint64_t kPlugFlushSectors = (128 * 1024) / kSectorSize;

std::atomic<uint64_t> g_next_queue_id{1};

// A bio split in parts completes once, with the first error of any part.
struct SplitChain {
  std::atomic<int> pending{2};
  std::atomic<int> status{0};
  std::function<void(int)> done;
};

std::function<void(int)> chain_part(const std::shared_ptr<SplitChain>& chain) {
  return [chain](int status) {
    int ok = 0;
    if (status != 0) chain->status.compare_exchange_strong(ok, status);
    if (chain->pending.fetch_sub(1) == 1 && chain->done) chain->done(chain->status.load());
  };
}

// Cuts the first `sectors` off `bio` into a new bio; both complete `bio`'s
// callback together.
BioPtr split_front(Bio& bio, uint64_t sectors) {
  auto front = std::make_unique<Bio>();
  front->op = bio.op;
  front->sector = bio.sector;
  front->flags = bio.flags;
  front->pid = bio.pid;
  front->comm = bio.comm;
  if (bio.op == BioOp::kDiscard) {
    front->discard_sectors = sectors;
    bio.discard_sectors -= sectors;
  } else {
    uint64_t left = sectors * kSectorSize;
    size_t i = 0;
    for (; left > 0; ++i) {
      Segment& s = bio.segments[i];
      if (s.len <= left) {
        front->segments.push_back(s);
        left -= s.len;
        s.len = 0;
      } else {
        front->segments.push_back({s.data, uint32_t(left)});
        s.data += left;
        s.len -= uint32_t(left);
        left = 0;
      }
    }
    auto first_kept = std::find_if(bio.segments.begin(), bio.segments.end(),
                                   [](const Segment& s) { return s.len > 0; });
    bio.segments.erase(bio.segments.begin(), first_kept);
  }
  bio.sector += sectors;
  auto chain = std::make_shared<SplitChain>();
  chain->done = std::move(bio.on_complete);
  front->on_complete = chain_part(chain);
  bio.on_complete = chain_part(chain);
  return front;
}

int check_bio(const Bio& bio, uint64_t capacity) {
  for (const auto& s : bio.segments)
    if (s.len == 0 || s.len % kSectorSize != 0 || !s.data) return -EINVAL;
  if ((bio.op == BioOp::kRead || bio.op == BioOp::kWrite) && bio.segments.empty()) return -EINVAL;
  if (bio.op == BioOp::kDiscard && bio.discard_sectors == 0) return -EINVAL;
  const uint64_t n = bio.sectors();
  if (bio.sector > capacity || n > capacity - bio.sector) return -EIO;
  return 0;
}

}  // namespace

struct Queue::PlugList {
  uint64_t queue_id = 0;
  int depth = 0;
  std::vector<Request*> rqs;  // arrival order
};

namespace {
// The calling thread's plugs, one per queue it plugs (usually one).
thread_local std::vector<std::unique_ptr<Queue::PlugList>> t_plugs;
}

Queue::Queue(Driver& driver, const Clock& clock, QueueOptions options)
    : driver_(driver),
      clock_(clock),
      id_(g_next_queue_id.fetch_add(1)),
      fixed_limits_(options.limits),
      max_sectors_kb_(std::min(options.limits.max_sectors_kb, options.limits.max_hw_sectors_kb)),
      nomerges_(std::min(options.nomerges, 2u)),
      nr_requests_(std::max(options.nr_requests, 1u)),
      read_ahead_kb_(options.read_ahead_kb),
      trace_clock_(options.trace_clock),
      tracer_(clock, options.device, options.trace_cpu),
      complete_one_(std::move(options.complete_one)),
      elevator_(make_elevator(options.scheduler)) {
  if (!elevator_) {
    logger("blockdev")->warn("unknown scheduler '{}', using mq-deadline", options.scheduler);
    elevator_ = make_elevator("mq-deadline");
  }
}

Queue::~Queue() {
  wait_idle();
  Status st = tracer_.stop();
  if (!st.is_ok()) logger("blockdev")->warn("stopping trace: {}", st.to_string());
}

QueueLimits Queue::limits() const {
  QueueLimits l = fixed_limits_;
  l.max_sectors_kb = max_sectors_kb_.load(std::memory_order_relaxed);
  return l;
}

void Queue::count(blktrace::Act act, bool write, uint64_t bytes) {
  counts_[act][write].fetch_add(1, std::memory_order_relaxed);
  if (bytes) bytes_[act][write].fetch_add(bytes, std::memory_order_relaxed);
}

ActionCount Queue::counter(blktrace::Act act) const {
  ActionCount c;
  for (int d = 0; d < 2; ++d) {
    c.count[d] = counts_[act][d].load(std::memory_order_relaxed);
    c.bytes[d] = bytes_[act][d].load(std::memory_order_relaxed);
  }
  return c;
}

Queue::PlugList* Queue::current_plug() {
  for (auto& p : t_plugs)
    if (p->queue_id == id_ && p->depth > 0) return p.get();
  return nullptr;
}

void Queue::plug_start() {
  for (auto& p : t_plugs) {
    if (p->queue_id == id_) {
      ++p->depth;
      return;
    }
  }
  auto p = std::make_unique<PlugList>();
  p->queue_id = id_;
  p->depth = 1;
  t_plugs.push_back(std::move(p));
}

void Queue::plug_finish() {
  PlugList* plug = current_plug();
  if (!plug) return;
  // Nested plugs flush only when the outermost ends, as blk_finish_plug.
  if (--plug->depth > 0) return;
  flush_plug(*plug, false);
  std::erase_if(t_plugs, [this](const auto& p) { return p->queue_id == id_; });
}

void Queue::plug_flush() {
  if (PlugList* plug = current_plug()) flush_plug(*plug, true);
}

void Queue::submit(BioPtr bio) {
  const QueueLimits lim = limits();
  if (int err = check_bio(*bio, sector_count())) {
    logger("blockdev")->warn("bad bio: op {} sector {} + {}: error {}", int(bio->op), bio->sector,
                             bio->sectors(), err);
    if (bio->on_complete) bio->on_complete(err);
    return;
  }
  IoShape shape = shape_of(*bio, lim);
  trace_io(blktrace::kActQueue, shape, bio->pid, bio->comm);
  // A bio bigger than a request may be is cut; the rest comes back as a
  // new bio (Q again), as __blk_queue_split resubmits the remainder.
  while (shape.sectors > lim.max_sectors() || shape.segments > lim.max_segments ||
         (shape.op == BioOp::kDiscard && shape.sectors > lim.max_discard_sectors)) {
    const uint64_t n = split_sectors(*bio, lim);
    BioPtr front = split_front(*bio, n);
    IoShape fs = shape_of(*front, lim);
    trace_io(blktrace::kActSplit, fs, front->pid, front->comm, 0, true, bio->sector);
    submit_one(std::move(front), lim);
    shape = shape_of(*bio, lim);
    trace_io(blktrace::kActQueue, shape, bio->pid, bio->comm);
  }
  submit_one(std::move(bio), lim);
}

void Queue::submit_one(BioPtr bio, const QueueLimits& lim) {
  const IoShape shape = shape_of(*bio, lim);
  PlugList* plug = current_plug();
  const uint32_t nomerges = nomerges_.load(std::memory_order_relaxed);
  if (nomerges < 2 && is_mergeable(shape.op, shape.flags)) {
    if (plug && try_plug_merge(*plug, bio, shape)) return;
    std::lock_guard lock(mu_);
    if (try_elevator_merge_locked(bio, shape)) return;
  }
  Request* rq = alloc_request(bio, shape, plug);
  if (!rq) {
    logger("blockdev")->error("no free request and no command in flight to free one: bio at sector {} fails",
                              shape.sector);
    if (bio->on_complete) bio->on_complete(-EBUSY);
    return;
  }
  if (plug && !rq->needs_flush()) {  // flushes bypass the plug (blk_insert_flush)
    add_to_plug(*plug, rq);
    return;
  }
  {
    std::lock_guard lock(mu_);
    insert_locked(rq);
  }
  run_dispatch();
}

bool Queue::try_plug_merge(PlugList& plug, BioPtr& bio, const IoShape& shape) {
  if (plug.rqs.empty()) return false;
  Request* rq = plug.rqs.back();
  const MergeKind kind = classify_merge(rq->shape, shape, limits());
  if (kind == MergeKind::kNone) return false;
  const bool front = kind == MergeKind::kFront;
  trace_io(front ? blktrace::kActFrontMerge : blktrace::kActBackMerge, shape, bio->pid, bio->comm);
  rq->shape.sectors += shape.sectors;
  rq->shape.segments += shape.segments;
  if (front) {
    rq->shape.sector = shape.sector;
    rq->bios.insert(rq->bios.begin(), std::move(bio));
  } else {
    rq->bios.push_back(std::move(bio));
  }
  return true;
}

bool Queue::try_elevator_merge_locked(BioPtr& bio, const IoShape& shape) {
  const QueueLimits lim = limits();
  if (last_merge_) {
    const MergeKind kind = classify_merge(last_merge_->shape, shape, lim);
    if (kind != MergeKind::kNone) {
      apply_merge_locked(last_merge_, bio, shape, kind);
      return true;
    }
  }
  if (nomerges_.load(std::memory_order_relaxed) != 0) return false;
  Request* rq = index_.ending_at(shape.op, shape.sector);
  if (rq && classify_merge(rq->shape, shape, lim) == MergeKind::kBack) {
    apply_merge_locked(rq, bio, shape, MergeKind::kBack);
    return true;
  }
  if (!elevator_->allows_front_merges()) return false;
  rq = index_.starting_at(shape.op, shape.end());
  if (rq && classify_merge(rq->shape, shape, lim) == MergeKind::kFront) {
    apply_merge_locked(rq, bio, shape, MergeKind::kFront);
    return true;
  }
  return false;
}

void Queue::apply_merge_locked(Request* rq, BioPtr& bio, const IoShape& shape, MergeKind kind) {
  const bool front = kind == MergeKind::kFront;
  trace_io(front ? blktrace::kActFrontMerge : blktrace::kActBackMerge, shape, bio->pid, bio->comm);
  index_.remove(rq);
  rq->shape.sectors += shape.sectors;
  rq->shape.segments += shape.segments;
  if (front) {
    rq->shape.sector = shape.sector;
    rq->bios.insert(rq->bios.begin(), std::move(bio));
    elevator_->repositioned(rq);
  } else {
    rq->bios.push_back(std::move(bio));
  }
  index_.add(rq);
  last_merge_ = rq;
  if (nomerges_.load(std::memory_order_relaxed) != 0) return;
  // The grown request may now touch a neighbour: merge the two.
  const QueueLimits lim = limits();
  if (front) {
    Request* prev = index_.ending_at(rq->shape.op, rq->shape.sector);
    if (prev && prev != rq && can_merge_requests(prev->shape, rq->shape, lim)) absorb_locked(prev, rq);
  } else {
    Request* next = index_.starting_at(rq->shape.op, rq->shape.end());
    if (next && next != rq && can_merge_requests(rq->shape, next->shape, lim)) absorb_locked(rq, next);
  }
}

// Appends `back` (in the elevator) to `front` (in the elevator) and frees it.
void Queue::absorb_locked(Request* front, Request* back) {
  index_.remove(front);
  index_.remove(back);
  elevator_->merged(front, back);
  front->shape.sectors += back->shape.sectors;
  front->shape.segments += back->shape.segments;
  for (auto& b : back->bios) front->bios.push_back(std::move(b));
  index_.add(front);
  if (last_merge_ == back) last_merge_ = front;
  back->bios.clear();
  delete back;
  --allocated_;
  freed_.notify_all();
}

Request* Queue::alloc_request(BioPtr& bio, const IoShape& shape, PlugList* plug) {
  {
    std::unique_lock lock(mu_);
    if (allocated_ >= nr_requests_.load(std::memory_order_relaxed)) {
      trace_io(blktrace::kActSleepRq, shape, bio->pid, bio->comm);
      // Sleeping: our own plugged requests must go first, or we may wait
      // for ourselves (the flush of a plug on schedule()).
      if (plug && !plug->rqs.empty()) {
        lock.unlock();
        flush_plug(*plug, true);
        lock.lock();
      }
      if (!wait_for_request(lock)) return nullptr;
    }
    ++allocated_;
  }
  auto* rq = new Request;
  rq->id = next_request_id_.fetch_add(1, std::memory_order_relaxed);
  rq->shape = shape;
  rq->pid = bio->pid;
  rq->comm = bio->comm;
  rq->alloc_time = clock_.now();
  trace_io(blktrace::kActGetRq, shape, bio->pid, bio->comm);
  rq->bios.push_back(std::move(bio));
  return rq;
}

// Until a request is free: sleeps, or on a one-thread queue completes
// commands itself. False if nothing in flight can free one.
bool Queue::wait_for_request(std::unique_lock<std::mutex>& lock) {
  const auto has_free = [this] { return allocated_ < nr_requests_.load(std::memory_order_relaxed); };
  if (!complete_one_) {
    freed_.wait(lock, has_free);
    return true;
  }
  while (!has_free()) {
    lock.unlock();
    const bool completed = complete_one_();
    lock.lock();
    if (!completed && !has_free()) return false;
  }
  return true;
}

void Queue::add_to_plug(PlugList& plug, Request* rq) {
  if (!plug.rqs.empty() &&
      (plug.rqs.size() >= kPlugMaxRequests || plug.rqs.back()->shape.sectors >= kPlugFlushSectors)) {
    flush_plug(plug, false);
  }
  if (plug.rqs.empty()) trace_bare(blktrace::kActPlug, rq->pid, rq->comm);
  plug.rqs.push_back(rq);
}

void Queue::flush_plug(PlugList& plug, bool from_schedule) {
  if (plug.rqs.empty()) return;
  std::vector<Request*> rqs;
  rqs.swap(plug.rqs);
  trace_bare(from_schedule ? blktrace::kActUnplugTimer : blktrace::kActUnplugIo, rqs.front()->pid,
             rqs.front()->comm, true, rqs.size());
  {
    std::lock_guard lock(mu_);
    for (Request* rq : rqs) insert_locked(rq);
  }
  run_dispatch();
}

}  // namespace cardfs::blockdev
