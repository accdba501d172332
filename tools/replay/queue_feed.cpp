#include "tools/replay/queue_feed.h"

#include <deque>
#include <limits>

#include "blockdev/queue.h"

namespace cardfs::replay {
namespace {

constexpr uint64_t kProgressEvery = 1 << 14;
constexpr uint32_t kSegmentBytes = 4096;  // a page per segment, as the cache sends them

// Holds each command the queue dispatches until the replay loop has run it
// on the card and its completion time has come.
class HeldDriver final : public blockdev::Driver {
 public:
  explicit HeldDriver(uint64_t sectors) : sectors_(sectors) {}
  uint64_t sector_count() const override { return sectors_; }
  uint32_t queue_depth() const override { return 1; }
  void start(blockdev::DriverCommand cmd, std::function<void(int)> done) override {
    held_.push_back({std::move(cmd), std::move(done)});
  }
  struct Held {
    blockdev::DriverCommand cmd;
    std::function<void(int)> done;
  };
  std::deque<Held> held_;

 private:
  const uint64_t sectors_;
};

TraceEvent event_of(const blockdev::DriverCommand& c) {
  TraceEvent e;
  e.op = c.op == blockdev::BioOp::kRead    ? Op::kRead
         : c.op == blockdev::BioOp::kWrite ? Op::kWrite
         : c.op == blockdev::BioOp::kFlush ? Op::kFlush
                                           : Op::kDiscard;
  e.sector = c.sector;
  e.sectors = c.op == blockdev::BioOp::kFlush ? 0 : c.sectors;
  e.preflush = c.preflush;
  e.fua = c.fua;
  return e;
}

class Feed {
 public:
  Feed(Timeline& t, uint64_t sectors) : timeline_(t), driver_(sectors), queue_(driver_, clock_, options()) {}
  ~Feed() {
    // After an error, commands still held fail; the queue must be idle
    // before it goes.
    while (!driver_.held_.empty()) {
      auto done = std::move(driver_.held_.front().done);
      driver_.held_.pop_front();
      done(-EIO);
    }
    queue_.wait_idle();
  }

  // Runs the card until `until` (ns): commands dispatched meanwhile run
  // and complete in order.
  Status settle(int64_t until);
  // Queues the bio. A bio that needs more requests than are free waits, as
  // its submitter would sleep, while the card completes commands.
  Status submit(const TraceEvent& e, int64_t at);
  int64_t last_completion() const { return last_completion_; }

 private:
  blockdev::QueueOptions options();
  // Runs the card's first held command if it completes by `until`; false
  // if there is none or it ends later.
  Result<bool> complete_next(int64_t until);

  Timeline& timeline_;
  std::vector<std::byte> zero_page_ = std::vector<std::byte>(kSegmentBytes);
  VirtualClock clock_{false};
  HeldDriver driver_;
  blockdev::Queue queue_;
  Timeline::Slot running_{};  // the command on the card (driver_.held_.front())
  bool on_card_ = false;
  int64_t last_completion_ = 0;
  Status failed_;  // the first error met inside the queue's callbacks
};

blockdev::QueueOptions Feed::options() {
  blockdev::QueueOptions o;
  o.complete_one = [this] {
    Result<bool> r = complete_next(std::numeric_limits<int64_t>::max());
    if (!r.is_ok() && failed_.is_ok()) failed_ = r.status();
    return r.is_ok() && *r;
  };
  return o;
}

Result<bool> Feed::complete_next(int64_t until) {
  if (driver_.held_.empty()) return false;
  if (!on_card_) {
    const int64_t dispatched = clock_.now().count();
    CARDFS_ASSIGN_OR_RETURN(running_, timeline_.run(event_of(driver_.held_.front().cmd), dispatched));
    on_card_ = true;
  }
  if (running_.finish > until) return false;
  if (running_.finish > clock_.now().count()) clock_.set(Nanos(running_.finish));
  auto done = std::move(driver_.held_.front().done);
  driver_.held_.pop_front();
  on_card_ = false;
  last_completion_ = running_.finish;
  done(0);  // completes the bios (they record themselves); may dispatch the next
  return true;
}

Status Feed::settle(int64_t until) {
  for (;;) {
    CARDFS_ASSIGN_OR_RETURN(const bool completed, complete_next(until));
    if (!completed) break;
  }
  if (until != std::numeric_limits<int64_t>::max() && until > clock_.now().count()) clock_.set(Nanos(until));
  return Status::ok();
}

Status Feed::submit(const TraceEvent& e, int64_t at) {
  auto bio = std::make_unique<blockdev::Bio>();
  bio->op = e.op == Op::kRead    ? blockdev::BioOp::kRead
            : e.op == Op::kWrite ? blockdev::BioOp::kWrite
            : e.op == Op::kFlush ? blockdev::BioOp::kFlush
                                 : blockdev::BioOp::kDiscard;
  bio->sector = e.sector;
  if (e.op == Op::kDiscard) bio->discard_sectors = e.sectors;
  for (uint64_t left = (e.op == Op::kRead || e.op == Op::kWrite) ? e.sectors * 512 : 0; left > 0;) {
    const uint32_t n = uint32_t(std::min<uint64_t>(left, kSegmentBytes));
    bio->segments.push_back({zero_page_.data(), n});
    left -= n;
  }
  bio->flags = 0;
  if (e.sync) bio->flags |= blockdev::kBioSync;
  if (e.fua) bio->flags |= blockdev::kBioFua;
  if (e.preflush) bio->flags |= blockdev::kBioPreflush;
  bio->on_complete = [this, op = e.op, at](int status) {
    if (status == 0) {
      timeline_.record(op, at, running_.start, running_.finish);
    } else if (failed_.is_ok()) {
      failed_ = Status::error(-status, "the request queue failed the bio");
    }
  };
  queue_.submit(std::move(bio));
  return failed_;
}

}  // namespace

Status run_through_queue(const Trace& trace, const std::vector<TraceEvent>& bios, Timeline& timeline,
                         uint64_t sector_count, const ReplayOptions& o) {
  Feed feed(timeline, sector_count);
  for (size_t i = 0; i < bios.size(); ++i) {
    // Without times (fio v2) each bio follows the completion of the last.
    if (!trace.timed) CARDFS_RETURN_IF_ERROR(feed.settle(std::numeric_limits<int64_t>::max()));
    const int64_t at = trace.timed ? int64_t(bios[i].time_ns) : feed.last_completion();
    Status st = feed.settle(at);
    if (!st.is_ok()) return st.with_context("bio " + std::to_string(i + 1));
    st = feed.submit(bios[i], at);
    if (!st.is_ok()) return st.with_context("bio " + std::to_string(i + 1));
    if (o.progress && i % kProgressEvery == 0) o.progress(i, bios.size());
  }
  return feed.settle(std::numeric_limits<int64_t>::max());
}

}  // namespace cardfs::replay
