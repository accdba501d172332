#include "tools/measure/costs.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>

#include "base/clock.h"
#include "sdcard/geometry.h"
#include "tools/measure/advice.h"
#include "tools/replay/replayer.h"
#include "tools/replay/timeline.h"

namespace cardfs::measure {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr const char* kPhaseNames[] = {"command 1/4", "command 2/4", "command 3/4", "command 4/4",
                                       "sync+unmount"};

int64_t at(std::vector<int64_t>& v, double q) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, size_t(q * double(v.size() - 1) + 0.5));
  return v[k];
}

Latency latency_of(std::vector<int64_t>& v) {
  std::sort(v.begin(), v.end());
  Latency l;
  l.count = v.size();
  if (!v.empty()) l.p50 = at(v, 0.5), l.p99 = at(v, 0.99), l.max = v.back();
  return l;
}

// Wear of each AU: erases done plus one for an AU in the erase queue.
std::vector<uint32_t> wear_of(const std::vector<sdcard::AuState>& aus) {
  std::vector<uint32_t> w;
  for (const sdcard::AuState& a : aus) w.push_back(a.erase_count + (std::strcmp(a.role, "erasing") == 0));
  return w;
}

// The run's commands, walked in order: what each cost, by second and
// phase, and what the advice is made of.
class Walk {
 public:
  Walk(const Recording& rec, sdcard::Card& card, ProfileCost& out)
      : rec_(rec), card_(card), out_(out), phases_(std::size(kPhaseNames)) {
    for (size_t i = 0; i < phases_.size(); ++i) phases_[i].name = kPhaseNames[i];
  }

  Status run(replay::Timeline& t, int64_t origin) {
    const std::vector<replay::TraceEvent> events = replay::commands_of(rec_.run, replay::Stage::kDispatch);
    for (const replay::TraceEvent& e : events) {
      const int64_t arrival = rec_.run.timed ? origin + int64_t(e.time_ns) : t.busy_until();
      const sdcard::CardCounters before = card_.counters();
      CARDFS_ASSIGN_OR_RETURN(replay::Timeline::Slot s, t.run(e, arrival));
      charge(e, before, s.finish - s.start);
      if (e.op == replay::Op::kWrite) writes_.push_back(s.finish - arrival);
      if (e.op == replay::Op::kFlush) flushes_.push_back(s.finish - arrival);
      last_ns_ = int64_t(e.time_ns);
    }
    out_.span_ns = events.empty() ? 0 : int64_t(events.back().time_ns - events.front().time_ns);
    return Status::ok();
  }

  // The card's close (its write buffer programmed): the unmount's end.
  void charge_close(const sdcard::CardCounters& before) {
    replay::TraceEvent e;
    e.time_ns = uint64_t(std::max<int64_t>(last_ns_, 0));
    e.op = replay::Op::kFlush;
    charge(e, before, (card_.counters().time.total() - before.time.total()).count(), true);
  }

  void finish() {
    out_.writes = latency_of(writes_);
    out_.write_latencies = writes_;
    out_.flushes_latency = latency_of(flushes_);
    out_.phases = phases_;
    for (size_t i = 0; i < aus_by_second_.size(); ++i) out_.seconds[i].aus_written = uint32_t(aus_by_second_[i].size());
  }

  WriteShape shape;  // for the advice

 private:
  size_t phase_of(int64_t t) const {
    if (rec_.command_end_ns <= 0) return 0;
    if (t >= rec_.command_end_ns) return 4;
    return size_t(std::min<int64_t>(3, t * 4 / rec_.command_end_ns));
  }

  void charge(const replay::TraceEvent& e, const sdcard::CardCounters& b, int64_t service, bool close = false) {
    const sdcard::CardCounters a = card_.counters();
    const size_t sec = size_t(e.time_ns / uint64_t(kSecond));
    if (out_.seconds.size() <= sec) out_.seconds.resize(sec + 1), aus_by_second_.resize(sec + 1);
    Second& s = out_.seconds[sec];
    const uint64_t written = (a.host_sectors_written - b.host_sectors_written) * 512;
    const uint64_t programmed = (a.flash_pages_programmed - b.flash_pages_programmed) * out_.page_bytes;
    s.host_written += written;
    s.host_read += (a.host_sectors_read - b.host_sectors_read) * 512;
    s.flash_programmed += programmed;
    s.merges += a.merges - b.merges;
    s.erases += a.erases - b.erases;
    s.flushes += close ? 0 : a.flushes - b.flushes;
    s.device_ns += service;
    Phase& p = phases_[phase_of(int64_t(e.time_ns))];
    p.host_written += written;
    p.flash_programmed += programmed;
    p.device_ns += service;
    if (close) return;
    shape.add(e, service, out_.page_bytes, out_.ru_bytes);
    if (e.op == replay::Op::kWrite && e.sectors > 0) {
      const uint64_t first = e.sector * 512 / out_.au_bytes, last = ((e.sector + e.sectors) * 512 - 1) / out_.au_bytes;
      for (uint64_t au = first; au <= last; ++au) aus_by_second_[sec].insert(au);
    }
  }

  const Recording& rec_;
  sdcard::Card& card_;
  ProfileCost& out_;
  std::vector<Phase> phases_;
  std::vector<std::set<uint64_t>> aus_by_second_;
  std::vector<int64_t> writes_, flushes_;
  int64_t last_ns_ = 0;
};

void fill_profile(const sdcard::Profile& p, const sdcard::Card& card, ProfileCost& c) {
  c.profile = std::string(p.name);
  c.page_bytes = card.geometry().page_bytes;
  c.au_bytes = uint32_t(card.geometry().au_bytes());
  c.ru_bytes = p.write_buffer_bytes;
  c.open_aus = p.open_aus;
  c.ftl = p.ftl == sdcard::FtlKind::kBlock ? "block" : "page";
  c.nand = std::string(p.nand);
  c.rated_pe_cycles = p.rated_pe_cycles;
}

// Totals of the run (counters since `start`) and the lifetime projection.
void fill_totals(const Recording& rec, const sdcard::CardCounters& s, const sdcard::CardCounters& e,
                 const std::vector<uint32_t>& wear0, const std::vector<uint32_t>& wear1, ProfileCost& c) {
  c.host_written = (e.host_sectors_written - s.host_sectors_written) * 512;
  c.host_read = (e.host_sectors_read - s.host_sectors_read) * 512;
  c.flash_programmed = (e.flash_pages_programmed - s.flash_pages_programmed) * c.page_bytes;
  c.merges = e.merges - s.merges;
  c.erases = e.erases - s.erases;
  c.flushes = e.flushes - s.flushes;
  c.device_ns = (e.time.total() - s.time.total()).count();
  c.time = {e.time.command - s.time.command, e.time.transfer - s.time.transfer, e.time.read - s.time.read,
            e.time.program - s.time.program, e.time.merge - s.time.merge, e.time.erase - s.time.erase};
  c.aus = uint32_t(wear1.size());
  uint64_t total = 0;
  uint32_t max = 0;
  for (size_t i = 0; i < wear1.size(); ++i) {
    const uint32_t w = wear1[i] > wear0[i] ? wear1[i] - wear0[i] : 0;
    c.au_wear.push_back(w);
    total += w;
    max = std::max(max, w);
  }
  c.pending_erases = uint32_t(total >= c.erases ? total - c.erases : 0);
  const double mean = c.aus ? double(total) / double(c.aus) : 0;
  c.spread = max > 0 ? mean / double(max) : 1.0;
  const double hours = rec.represents_s / 3600.0;
  c.erases_per_hour = hours > 0 ? double(total) / hours : 0;
  // rated × AUs × spread ÷ erase rate: the hours until the most worn AU
  // reaches its rating if the run repeats as it ran.
  c.lifetime_hours = c.erases_per_hour > 0
                         ? double(c.rated_pe_cycles) * c.aus * c.spread / c.erases_per_hour
                         : std::numeric_limits<double>::infinity();
  c.life_used = std::isinf(c.lifetime_hours) ? 0.0 : hours / c.lifetime_hours;
}

}  // namespace

Result<ProfileCost> cost_on(const Recording& rec, const sdcard::Profile& profile) {
  VirtualClock clock;
  replay::ReplayOptions o;
  o.size_bytes = rec.card_bytes;
  o.image = rec.base_image;
  CARDFS_ASSIGN_OR_RETURN(std::unique_ptr<sdcard::Card> card, replay::dataless_card(rec.run, profile, o, clock));
  ProfileCost c;
  fill_profile(profile, *card, c);
  replay::Timeline t(*card);
  // The mkfs, back to back, then the cache flush the export's close made.
  for (const replay::TraceEvent& e : replay::commands_of(rec.setup, replay::Stage::kDispatch))
    CARDFS_RETURN_IF_ERROR(t.run(e, t.busy_until()).status().with_context("the mkfs trace"));
  if (!rec.setup.events.empty()) CARDFS_RETURN_IF_ERROR(card->flush());
  const sdcard::CardCounters start = card->counters();
  const std::vector<uint32_t> wear0 = wear_of(card->au_states());
  Walk walk(rec, *card, c);
  CARDFS_RETURN_IF_ERROR(walk.run(t, t.busy_until()).with_context(c.profile));
  const sdcard::CardCounters before_close = card->counters();
  CARDFS_RETURN_IF_ERROR(card->close());
  walk.charge_close(before_close);
  walk.finish();
  fill_totals(rec, start, card->counters(), wear0, wear_of(card->au_states()), c);
  c.advice = advise(c, walk.shape, rec.represents_s);
  return c;
}

}  // namespace cardfs::measure
