// Queue: the sysfs-style tunables of /sys/block/DEV/queue/.
#include "base/parse.h"
#include "blockdev/queue.h"

namespace cardfs::blockdev {

namespace {

constexpr std::string_view kIosched = "iosched/";
constexpr uint32_t kMinRequests = 4;  // BLKDEV_MIN_RQ
constexpr uint32_t kMaxRequests = 1u << 16;

// A value as `echo` writes it: without the trailing newline and spaces.
std::string_view trimmed(std::string_view v) {
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.remove_suffix(1);
  return v;
}

Result<uint32_t> attr_u32(std::string_view name, std::string_view v) {
  Result<uint32_t> out = cardfs::parse_u32(trimmed(v));
  if (!out.is_ok()) return out.status().with_context(std::string(name));
  return out;
}

}  // namespace

std::vector<std::string> Queue::attr_names() const {
  std::vector<std::string> names = {
      "scheduler",        "nomerges",          "max_sectors_kb",   "max_hw_sectors_kb",
      "max_segments",     "max_segment_size",  "logical_block_size", "physical_block_size",
      "hw_sector_size",   "minimum_io_size",   "optimal_io_size",  "nr_requests",
      "read_ahead_kb",    "rotational",        "trace_clock"};
  std::lock_guard lock(mu_);
  for (auto& t : elevator_->tunable_names()) names.push_back(std::string(kIosched) + t);
  return names;
}

Result<std::string> Queue::read_attr(std::string_view name) const {
  const QueueLimits l = limits();
  auto num = [](uint64_t v) { return Result<std::string>(std::to_string(v)); };
  if (name == "scheduler") {
    std::lock_guard lock(mu_);
    std::string out;
    for (const char* n : kElevatorNames) {
      if (!out.empty()) out += ' ';
      out += std::string_view(n) == elevator_->name() ? "[" + std::string(n) + "]" : std::string(n);
    }
    return out;
  }
  if (name == "nomerges") return num(nomerges_.load());
  if (name == "max_sectors_kb") return num(l.max_sectors_kb);
  if (name == "max_hw_sectors_kb") return num(l.max_hw_sectors_kb);
  if (name == "max_segments") return num(l.max_segments);
  if (name == "max_segment_size") return num(l.max_segment_size);
  if (name == "logical_block_size" || name == "physical_block_size" || name == "hw_sector_size" ||
      name == "minimum_io_size")
    return num(l.logical_block_size);
  if (name == "optimal_io_size") return num(l.optimal_io_size);
  if (name == "nr_requests") return num(nr_requests_.load());
  if (name == "read_ahead_kb") return num(read_ahead_kb_.load());
  if (name == "rotational") return num(0);
  // Not in sysfs: like /sys/kernel/tracing/trace_clock, the timeline the
  // next trace uses (see Tracer).
  if (name == "trace_clock")
    return std::string(trace_clock_.load() == TraceClock::kCard ? "[card] host" : "card [host]");
  if (name.starts_with(kIosched)) {
    std::lock_guard lock(mu_);
    return elevator_->read_tunable(name.substr(kIosched.size()));
  }
  return Status::error(ENOENT, "no queue attribute '" + std::string(name) + "'");
}

Status Queue::write_attr(std::string_view name, std::string_view value) {
  if (name == "scheduler") return set_scheduler(trimmed(value));
  if (name.starts_with(kIosched)) {
    std::lock_guard lock(mu_);
    return elevator_->write_tunable(name.substr(kIosched.size()), value);
  }
  if (name == "trace_clock") {
    value = trimmed(value);
    if (value != "card" && value != "host") return Status::error(EINVAL, "trace_clock is card or host");
    trace_clock_.store(value == "card" ? TraceClock::kCard : TraceClock::kHost);
    return Status::ok();
  }
  auto v = attr_u32(name, value);
  if (name == "nomerges" || name == "max_sectors_kb" || name == "nr_requests" || name == "read_ahead_kb") {
    if (!v) return v.status();
  }
  if (name == "nomerges") {
    if (*v > 2) return Status::error(EINVAL, "nomerges is 0, 1 or 2");
    nomerges_.store(*v);
    std::lock_guard lock(mu_);
    last_merge_ = nullptr;
    return Status::ok();
  }
  if (name == "max_sectors_kb") {
    const QueueLimits l = limits();
    if (*v < 4 || *v > l.max_hw_sectors_kb)  // at least a page, at most the hardware's
      return Status::error(EINVAL, "max_sectors_kb must be 4.." + std::to_string(l.max_hw_sectors_kb));
    max_sectors_kb_.store(*v);
    return Status::ok();
  }
  if (name == "nr_requests") {
    if (*v < kMinRequests || *v > kMaxRequests)
      return Status::error(EINVAL, "nr_requests must be 4..65536");
    nr_requests_.store(*v);
    {
      std::lock_guard lock(mu_);
      freed_.notify_all();
    }
    run_dispatch();
    return Status::ok();
  }
  if (name == "read_ahead_kb") {
    read_ahead_kb_.store(*v);
    return Status::ok();
  }
  if (read_attr(name).is_ok()) return Status::error(EACCES, std::string(name) + " is read-only");
  return Status::error(ENOENT, "no queue attribute '" + std::string(name) + "'");
}

// Pending requests move to the new elevator oldest first; requests in
// flight are unaffected.
Status Queue::set_scheduler(std::string_view name) {
  auto next = make_elevator(name);
  if (!next) return Status::error(EINVAL, "no scheduler '" + std::string(name) + "'");
  {
    std::lock_guard lock(mu_);
    if (name == elevator_->name()) return Status::ok();
    std::vector<Request*> pending = elevator_->drain();
    elevator_ = std::move(next);
    for (Request* rq : pending) elevator_->insert(rq, rq->insert_time);
  }
  run_dispatch();
  return Status::ok();
}

}  // namespace cardfs::blockdev
