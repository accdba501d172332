// Queue: the request queue between the page cache and a Driver (the card).
//
// Implements BlockDevice as Linux's blk-mq does for one hardware queue:
// bios are queued (Q), split to the limits (X), merged into a pending
// request (M back, F front) or get a new request (G; S when nr_requests
// are all taken); a thread holding a Plug gathers its requests (P) and
// sends them on at unplug (U: explicit or because the plug holds 32
// requests or a request of 128 KiB; UT: the thread is about to wait);
// requests are inserted into the elevator (I), which may merge them with
// a neighbour, dispatched to the driver (D) up to min(nr_requests, the
// driver's queue depth) at a time, and completed (C); a request's status
// reaches every bio merged into it. Flush, preflush and FUA requests are
// barriers: everything inserted before one completes before it is
// dispatched, and nothing inserted after it is dispatched before it
// completes.
//
// Tunables use the names of /sys/block/DEV/queue/ and may change at any
// time (read_attr/write_attr). Every event is counted (counters()), and,
// while a trace runs, recorded in blktrace format (start_trace()).
//
// Thread-safe: any thread may submit, plug and change tunables. Bio
// completions run without the queue's lock held, on the driver's
// completion thread or inside submit(). The Driver must outlive the
// Queue; destroy the Queue only once every submitted bio has completed.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "blockdev/block_device.h"
#include "blockdev/driver.h"
#include "blockdev/elevator.h"
#include "blockdev/limits.h"
#include "blockdev/trace_format.h"
#include "blockdev/tracer.h"

namespace cardfs::blockdev {

struct QueueOptions {
  QueueLimits limits;
  std::string scheduler = "mq-deadline";
  uint32_t nr_requests = 64;
  uint32_t read_ahead_kb = 128;
  uint32_t nomerges = 0;
  uint32_t device = blktrace::make_dev(179, 0);  // mmcblk0, as traces show it
  TraceClock trace_clock = TraceClock::kHost;     // the "trace_clock" attribute
  std::function<int()> trace_cpu;                // default: sched_getcpu()
  // For a queue driven from one thread (cardfs replay), whose driver
  // completes only when that thread runs it: a submitter that finds every
  // request taken calls this instead of sleeping, as the kernel's sleeping
  // submitter lets the device progress. It completes the command on the
  // device (moving device time forward) and returns false if none is in
  // flight; the bio then fails with -EBUSY rather than wait for itself.
  std::function<bool()> complete_one;
};

// One action's count and bytes per direction, as blkparse totals them
// (index 0 reads, 1 writes; plug and unplug events count as reads).
struct ActionCount {
  uint64_t count[2] = {0, 0};
  uint64_t bytes[2] = {0, 0};
  uint64_t total() const { return count[0] + count[1]; }
};

class Queue final : public BlockDevice {
 public:
  Queue(Driver& driver, const Clock& clock, QueueOptions options = {});
  ~Queue() override;

  void submit(BioPtr bio) override;
  uint64_t sector_count() const override { return driver_.sector_count(); }
  uint32_t read_ahead_kb() const override { return read_ahead_kb_.load(std::memory_order_relaxed); }
  uint32_t io_kb() const override { return max_sectors_kb_.load(std::memory_order_relaxed); }
  bool discard_zeroes_data() const override { return driver_.discard_zeroes_data(); }
  void plug_start() override;
  void plug_finish() override;
  void plug_flush() override;

  // sysfs-style tunables: "scheduler", "nomerges", "max_sectors_kb",
  // "nr_requests", "read_ahead_kb", "iosched/<name>", and read-only limits.
  Result<std::string> read_attr(std::string_view name) const;
  Status write_attr(std::string_view name, std::string_view value);
  std::vector<std::string> attr_names() const;

  // Traces to NAME.blktrace.<cpu> until stop_trace(), on the timeline the
  // "trace_clock" attribute names ("card" or "host").
  Status start_trace(const std::string& name) {
    return tracer_.start(name, trace_clock_.load(std::memory_order_relaxed));
  }
  Status stop_trace() { return tracer_.stop(); }
  // A message note in the running trace (.cardfs/mark); nothing when off.
  void trace_message(std::string_view text, pid_t pid) { tracer_.message(text, pid); }

  ActionCount counter(blktrace::Act act) const;
  QueueLimits limits() const;
  // Blocks until every request has completed (the driver must progress).
  void wait_idle();

  struct PlugList;  // a thread's plugged requests (internal)

 private:

  void submit_one(BioPtr bio, const QueueLimits& limits);
  bool try_plug_merge(PlugList& plug, BioPtr& bio, const IoShape& shape);
  bool try_elevator_merge_locked(BioPtr& bio, const IoShape& shape);
  void apply_merge_locked(Request* rq, BioPtr& bio, const IoShape& shape, MergeKind kind);
  void absorb_locked(Request* front, Request* back);
  // nullptr (bio untouched) when no request can ever be freed.
  Request* alloc_request(BioPtr& bio, const IoShape& shape, PlugList* plug);
  bool wait_for_request(std::unique_lock<std::mutex>& lock);
  void add_to_plug(PlugList& plug, Request* rq);
  void flush_plug(PlugList& plug, bool from_schedule);
  void insert_locked(Request* rq);
  void enter_elevator_locked(Request* rq);
  Request* pick_locked();
  void release_barrier_line_locked();
  void run_dispatch();
  void start_command(Request* rq);
  void complete(Request* rq, int status);
  void finish(Request* rq, int status);
  // The flush machinery (queue_flush.cpp).
  void trace_flush_dispatch_locked(Request* rq, pid_t pid, const std::array<char, 16>& comm);
  void start_flush(Request* rq);
  void flush_done(Request* rq, int status);
  void trace_final_completion(Request* rq, int status);
  // When the command of rq that is completing now ends on the card's
  // timeline (0: unknown, or the trace runs on host time).
  uint64_t card_done_time(const Request* rq) const;
  void free_request(Request* rq);
  PlugList* current_plug();
  Status set_scheduler(std::string_view name);

  void count(blktrace::Act act, bool write, uint64_t bytes);
  // Counts the event (a write if its bits say so, as blkparse counts) and,
  // while tracing, records it; returns its timestamp (0 when not tracing).
  uint64_t emit(const TraceEvent& ev);
  uint64_t trace_io(blktrace::Act act, const IoShape& s, pid_t pid, const std::array<char, 16>& comm,
                    int error = 0, bool has_pdu = false, uint64_t pdu = 0);
  void trace_bare(blktrace::Act act, pid_t pid, const std::array<char, 16>& comm, bool has_pdu = false,
                  uint64_t pdu = 0);

  Driver& driver_;
  const Clock& clock_;
  const uint64_t id_;  // tells this queue's plugs from another's
  QueueLimits fixed_limits_;
  std::atomic<uint32_t> max_sectors_kb_;
  std::atomic<uint32_t> nomerges_;
  std::atomic<uint32_t> nr_requests_;
  std::atomic<uint32_t> read_ahead_kb_;
  std::atomic<TraceClock> trace_clock_;
  std::atomic<uint64_t> next_request_id_{1};
  Tracer tracer_;
  const std::function<bool()> complete_one_;
  std::atomic<uint64_t> counts_[blktrace::kNumActs][2] = {};
  std::atomic<uint64_t> bytes_[blktrace::kNumActs][2] = {};

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable freed_;  // a request was freed
  uint32_t allocated_ = 0;  // requests from G until completion
  std::unique_ptr<Elevator> elevator_;
  MergeIndex index_;               // requests in the elevator
  Request* last_merge_ = nullptr;  // one-hit merge cache (in the elevator)
  std::deque<Request*> barrier_line_;  // a barrier and what came after it
  bool barrier_in_flight_ = false;
  uint32_t in_flight_ = 0;
  uint32_t completing_ = 0;  // threads inside complete(), for wait_idle()
  bool dispatching_ = false;
  bool dispatch_again_ = false;
};

}  // namespace cardfs::blockdev
