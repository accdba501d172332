#include "tools/replay/timeline.h"

#include <algorithm>

namespace cardfs::replay {
namespace {

constexpr size_t kZeroChunk = 1 << 20;

Nanos percentile(std::vector<int64_t>& v, double q) {
  const size_t k = std::min(v.size() - 1, size_t(q * double(v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + ptrdiff_t(k), v.end());
  return Nanos(v[k]);
}

Nanos max_of(const std::vector<int64_t>& v) { return Nanos(*std::max_element(v.begin(), v.end())); }

}  // namespace

// One zero buffer that every command's iovecs point into: the none store
// keeps no data, and reads write zeros into it.
std::span<const iovec> Timeline::zeros(uint64_t sectors) {
  if (zero_buf_.empty()) zero_buf_.resize(kZeroChunk);
  iov_.clear();
  for (uint64_t left = sectors * 512; left > 0;) {
    const size_t n = size_t(std::min<uint64_t>(left, kZeroChunk));
    iov_.push_back({zero_buf_.data(), n});
    left -= n;
  }
  return iov_;
}

Result<Timeline::Slot> Timeline::run(const TraceEvent& e, int64_t arrival) {
  Slot s;
  s.start = std::max(arrival, busy_until_);
  const Nanos before = card_.device_time();
  if (e.preflush || e.op == Op::kFlush) CARDFS_RETURN_IF_ERROR(card_.flush());
  switch (e.op) {
    case Op::kRead: CARDFS_RETURN_IF_ERROR(card_.read(e.sector, zeros(e.sectors))); break;
    case Op::kWrite: CARDFS_RETURN_IF_ERROR(card_.write(e.sector, zeros(e.sectors), e.fua)); break;
    case Op::kDiscard: CARDFS_RETURN_IF_ERROR(card_.discard(e.sector, e.sectors)); break;
    case Op::kFlush: break;
  }
  s.finish = s.start + (card_.device_time() - before).count();
  busy_until_ = s.finish;
  return s;
}

void Timeline::record(Op op, int64_t arrival, int64_t start, int64_t finish) {
  const int k = int(op);
  latency_[k].push_back(finish - arrival);
  service_[k].push_back(finish - start);
  wait_[k].push_back(start - arrival);
}

LatencyStats Timeline::stats(Op op) {
  const int k = int(op);
  LatencyStats s;
  s.count = latency_[k].size();
  if (s.count == 0) return s;
  s.p50 = percentile(latency_[k], 0.50);
  s.p99 = percentile(latency_[k], 0.99);
  s.max = max_of(latency_[k]);
  s.service_p50 = percentile(service_[k], 0.50);
  s.service_p99 = percentile(service_[k], 0.99);
  s.service_max = max_of(service_[k]);
  int64_t total = 0;
  for (int64_t w : wait_[k]) total += w;
  s.queue_mean = Nanos(total / int64_t(s.count));
  s.queue_max = max_of(wait_[k]);
  return s;
}

}  // namespace cardfs::replay
