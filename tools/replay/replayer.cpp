#include "tools/replay/replayer.h"

#include <algorithm>
#include <limits>

#include "sdcard/geometry.h"
#include "sdcard/page_store.h"
#include "sdcard/wear.h"
#include "tools/replay/queue_feed.h"
#include "tools/replay/timeline.h"

namespace cardfs::replay {
namespace {

constexpr uint64_t kProgressEvery = 1 << 14;

}  // namespace

Result<std::unique_ptr<sdcard::Card>> dataless_card(const Trace& trace, const sdcard::Profile& p,
                                                    const ReplayOptions& o, Clock& clock) {
  if (!o.image.empty()) {
    CARDFS_ASSIGN_OR_RETURN(auto origin, sdcard::image_store(o.image, sdcard::OpenMode::kReadOnly));
    CARDFS_ASSIGN_OR_RETURN(auto card, sdcard::Card::open(sdcard::none_store_from(std::move(origin)), clock));
    if (card->profile().name != p.name)
      return Status::error(EINVAL, o.image + " is a " + std::string(card->profile().name) + " card, not " +
                                       std::string(p.name));
    return card;
  }
  uint64_t bytes = o.size_bytes.value_or(0);
  if (!o.size_bytes) {
    const uint64_t end = std::max<uint64_t>(trace.end_sector() * 512, 1);
    bytes = (end + p.au_bytes - 1) / p.au_bytes * p.au_bytes;
  }
  Result<std::unique_ptr<sdcard::Card>> card = sdcard::Card::create(sdcard::none_store(), p, bytes, clock);
  if (!card.is_ok()) return card.status().with_context("a " + std::string(p.name) + " card of " +
                                                       std::to_string(bytes) + " bytes");
  return card;
}

namespace {

WearSummary wear_of(const std::vector<sdcard::AuState>& aus) {
  const sdcard::WearStats s = sdcard::wear_stats(aus);
  WearSummary w{s.aus, s.min, s.max, s.mean, s.aus_erased, {}};
  for (const sdcard::AuState& a : aus) w.erase_counts.push_back(a.erase_count);
  return w;
}

}  // namespace

std::vector<TraceEvent> commands_of(const Trace& trace, Stage from, Stage* used) {
  if (from == Stage::kDispatch && trace.count(Stage::kDispatch) == 0) from = Stage::kQueue;
  if (used) *used = from;
  std::vector<TraceEvent> out;
  out.reserve(trace.events.size());
  for (const TraceEvent& e : trace.events)
    if (e.stage == from) out.push_back(e);
  return out;
}

// Device commands straight from the trace, each at its own time.
Status run_dispatched(const Trace& trace, const std::vector<TraceEvent>& events, Timeline& t,
                      const ReplayOptions& o) {
  for (size_t i = 0; i < events.size(); ++i) {
    const TraceEvent& e = events[i];
    const int64_t arrival = trace.timed ? int64_t(e.time_ns) : t.busy_until();
    Result<Timeline::Slot> s = t.run(e, arrival);
    if (!s.is_ok()) return s.status().with_context("event " + std::to_string(i + 1));
    t.record(e.op, arrival, s->start, s->finish);
    if (o.progress && i % kProgressEvery == 0) o.progress(i, events.size());
  }
  return Status::ok();
}

Result<ProfileReport> replay(const Trace& trace, const sdcard::Profile& profile, const ReplayOptions& o) {
  VirtualClock clock;
  CARDFS_ASSIGN_OR_RETURN(std::unique_ptr<sdcard::Card> card, dataless_card(trace, profile, o, clock));
  if (trace.end_sector() > card->sector_count())
    return Status::error(EINVAL, "the trace reaches sector " + std::to_string(trace.end_sector() - 1) +
                                     ", beyond the " + std::to_string(card->sector_count()) + " sectors of the " +
                                     std::string(profile.name) + " card (--size)");
  Stage used;
  const std::vector<TraceEvent> events = commands_of(trace, o.from, &used);
  // Times are nanoseconds since the trace's first event, run as signed
  // card time: a span past 2^63 ns (292 years) is a corrupt timestamp.
  if (trace.timed && !events.empty() && events.back().time_ns > uint64_t(std::numeric_limits<int64_t>::max()))
    return Status::error(EINVAL, "the trace's timestamps span " + std::to_string(events.back().time_ns) +
                                     " ns (over 292 years): a corrupt time stamp");
  Timeline t(*card);
  Status st = o.from == Stage::kQueue ? run_through_queue(trace, events, t, card->sector_count(), o)
                                      : run_dispatched(trace, events, t, o);
  CARDFS_RETURN_IF_ERROR(st.with_context(std::string(profile.name)));
  const Nanos before_close = card->device_time();
  CARDFS_RETURN_IF_ERROR(card->close());
  t.add_busy(card->device_time() - before_close);
  ProfileReport r;
  r.profile = std::string(profile.name);
  r.card_bytes = card->sector_count() * 512;
  r.page_bytes = card->geometry().page_bytes;
  r.events = events.size();
  r.counters = card->counters();
  r.busy = r.counters.time.total();
  r.span = events.empty() ? Nanos(0) : Nanos(int64_t(events.back().time_ns - events.front().time_ns));
  if (!trace.timed) r.span = Nanos(t.busy_until());
  r.finish = Nanos(t.busy_until());
  r.reads = t.stats(Op::kRead);
  r.writes = t.stats(Op::kWrite);
  r.flushes = t.stats(Op::kFlush);
  r.discards = t.stats(Op::kDiscard);
  r.wear = wear_of(card->au_states());
  return r;
}

}  // namespace cardfs::replay
