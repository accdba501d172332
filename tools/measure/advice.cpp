#include "tools/measure/advice.h"
#include "tools/measure/format.h"

#include <algorithm>
#include <cstdio>
#include <string>

namespace cardfs::measure {
namespace {

double share(int64_t part, int64_t whole) { return whole > 0 ? double(part) / double(whole) : 0.0; }
double pct(double x) { return 100.0 * x; }

Advice aus_per_second(const ProfileCost& c) {
  uint64_t seconds = 0, total = 0;
  uint32_t peak = 0;
  for (const Second& s : c.seconds) {
    if (s.aus_written == 0) continue;
    ++seconds;
    total += s.aus_written;
    peak = std::max(peak, s.aus_written);
  }
  Advice a;
  a.rule = "aus_per_second";
  a.value = seconds ? double(total) / double(seconds) : 0;
  a.device_share = share((c.time.merge + c.time.erase).count(), c.device_ns);
  if (c.ftl == "block") {
    a.limit = c.open_aus;
    a.text = format("writes touch %.1f AUs per second (peak %u); %s keeps %u open: %llu merges, %.0f %% of device time",
                    a.value, peak, c.profile.c_str(), c.open_aus, (unsigned long long)c.merges, pct(a.device_share));
  } else {
    a.text = format("writes touch %.1f AUs per second (peak %u); %s maps pages, with no open-AU limit: "
                    "%llu garbage collections, %.0f %% of device time",
                    a.value, peak, c.profile.c_str(), (unsigned long long)c.merges, pct(a.device_share));
  }
  return a;
}

Advice small_writes(const ProfileCost& c, const WriteShape& w) {
  Advice a;
  a.rule = "small_writes";
  a.value = w.writes ? double(w.small) / double(w.writes) : 0;
  a.limit = c.page_bytes;
  a.device_share = share(w.small_ns, c.device_ns);
  a.text = format("%llu of %llu writes (%.0f %%) are smaller than the card's %u KiB page, which each programs "
                  "whole: %.0f %% of device time (%.0f %% are smaller than its %u KiB RU)",
                  (unsigned long long)w.small, (unsigned long long)w.writes, pct(a.value), c.page_bytes >> 10,
                  pct(a.device_share), pct(w.writes ? double(w.sub_ru) / double(w.writes) : 0), c.ru_bytes >> 10);
  return a;
}

Advice unaligned_writes(const ProfileCost& c, const WriteShape& w) {
  Advice a;
  a.rule = "unaligned_writes";
  a.value = w.writes ? double(w.unaligned) / double(w.writes) : 0;
  a.limit = c.page_bytes;
  a.device_share = share(w.unaligned_ns, c.device_ns);
  a.text = format("%llu writes (%.0f %%) of a page or more start or end inside a %u KiB page: %.0f %% of device time",
                  (unsigned long long)w.unaligned, pct(a.value), c.page_bytes >> 10, pct(a.device_share));
  return a;
}

// Per second of the operation the run stands for (--represents; by
// default the command's wall time).
Advice fsync_rate(const ProfileCost& c, const WriteShape& w, double represents_s) {
  Advice a;
  a.rule = "fsync_rate";
  a.value = represents_s > 0 ? double(w.flushes) / represents_s : double(w.flushes);
  a.device_share = share(w.flush_ns, c.device_ns);
  a.text = format("the cache is flushed %.2f times per second (%llu flushes, %llu FUA writes): "
                  "flushes take %.0f %% of device time",
                  a.value, (unsigned long long)w.flushes, (unsigned long long)w.fua, pct(a.device_share));
  return a;
}

}  // namespace

void WriteShape::add(const replay::TraceEvent& e, int64_t service_ns, uint32_t page_bytes, uint32_t ru_bytes) {
  if (e.op == replay::Op::kFlush || e.preflush) {
    ++flushes;
    flush_ns += service_ns;
    if (e.op == replay::Op::kFlush) return;
  }
  if (e.op != replay::Op::kWrite) return;
  ++writes;
  write_ns += service_ns;
  fua += e.fua;
  const uint64_t start = e.sector * 512, end = (e.sector + e.sectors) * 512;
  sub_ru += end - start < ru_bytes;
  if (end - start < page_bytes)
    ++small, small_ns += service_ns;
  else if (start % page_bytes != 0 || end % page_bytes != 0)
    ++unaligned, unaligned_ns += service_ns;
}

std::vector<Advice> advise(const ProfileCost& c, const WriteShape& w, double represents_s) {
  return {aus_per_second(c), small_writes(c, w), unaligned_writes(c, w), fsync_rate(c, w, represents_s)};
}

}  // namespace cardfs::measure
