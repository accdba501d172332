#include "blockdev/tracer.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "base/log.h"

namespace cardfs::blockdev {

namespace {
constexpr size_t kFlushBytes = 1 << 20;  // write a CPU's buffer out at 1 MiB

int default_cpu() {
  int cpu = sched_getcpu();
  return cpu < 0 ? 0 : cpu;
}
}  // namespace

Tracer::Tracer(const Clock& clock, uint32_t device, std::function<int()> cpu_of_caller)
    : clock_(clock), device_(device), cpu_of_caller_(std::move(cpu_of_caller)) {
  if (!cpu_of_caller_) cpu_of_caller_ = default_cpu;
}

Tracer::~Tracer() {
  Status st = stop();
  if (!st.is_ok()) logger("blockdev")->warn("closing trace: {}", st.to_string());
}

Status Tracer::start(const std::string& name, TraceClock clock) {
  std::lock_guard lock(mu_);
  if (on_.load()) return Status::error(EBUSY, "a trace is already running");
  const long ncpu = std::max(1L, sysconf(_SC_NPROCESSORS_CONF));
  std::vector<CpuFile> files(static_cast<size_t>(ncpu));
  for (long i = 0; i < ncpu; ++i) {
    const std::string path = name + ".blktrace." + std::to_string(i);
    files[i].file = std::fopen(path.c_str(), "wb");
    if (!files[i].file) {
      const int err = errno;
      for (auto& f : files)
        if (f.file) std::fclose(f.file);
      return Status::error(err, "creating " + path);
    }
  }
  cpus_ = std::move(files);
  origin_ = clock_.now();
  mode_.store(clock);
  card_offset_ = 0;
  last_time_ = 0;
  noted_.clear();
  resolved_.clear();
  last_noted_pid_ = -1;
  write_error_ = Status::ok();
  on_.store(true);
  return Status::ok();
}

Status Tracer::stop() {
  std::lock_guard lock(mu_);
  if (!on_.load()) return Status::ok();
  on_.store(false);
  Status result = write_error_;
  for (auto& f : cpus_) {
    Status st = write_out_locked(f);
    if (result.is_ok()) result = st;
    if (std::fclose(f.file) != 0 && result.is_ok()) result = Status::error(errno, "closing trace file");
  }
  cpus_.clear();
  return result;
}

Status Tracer::write_out_locked(CpuFile& f) {
  if (f.buf.empty()) return Status::ok();
  const size_t n = std::fwrite(f.buf.data(), 1, f.buf.size(), f.file);
  f.buf.clear();
  if (n == 0) return Status::error(EIO, "writing trace file");
  return Status::ok();
}

// A process named by its pid only (a FUSE requester): its command name,
// read once per trace while it waits for its I/O.
const std::array<char, 16>& Tracer::resolve_locked(pid_t pid) {
  auto [it, fresh] = resolved_.try_emplace(pid);
  if (fresh && pid > 0) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
    std::string s;
    std::getline(in, s);
    std::memcpy(it->second.data(), s.data(), std::min(s.size(), it->second.size() - 1));
  }
  return it->second;
}

void Tracer::note_process_locked(CpuFile& f, uint32_t cpu, uint64_t time, pid_t pid,
                                 const std::array<char, 16>& given) {
  const std::array<char, 16>& comm = given[0] == '\0' ? resolve_locked(pid) : given;
  if (pid == last_noted_pid_ && comm == last_noted_comm_) return;  // the common case
  last_noted_pid_ = pid;
  last_noted_comm_ = comm;
  std::string name(comm.data(), strnlen(comm.data(), comm.size()));
  if (!noted_.emplace(pid, name).second) return;
  blktrace::Record r;
  r.time = time;
  r.action = blktrace::kProcessNote;
  r.pid = uint32_t(pid);
  r.device = device_;
  r.cpu = cpu;
  r.pdu.resize(16);
  std::memcpy(r.pdu.data(), comm.data(), comm.size());
  r.pdu[15] = std::byte(0);
  blktrace::encode(r, f.buf);
}

uint64_t Tracer::stamp_locked(uint64_t at) {
  const int64_t host = (clock_.now() - origin_).count();
  uint64_t t = uint64_t(std::max<int64_t>(0, host + card_offset_));
  if (mode_.load(std::memory_order_relaxed) == TraceClock::kCard && at != 0) {
    // The card's timeline says when this happened; what follows moves along.
    t = at;
    card_offset_ = int64_t(at) - host;
  }
  t = std::max(t, last_time_ + 1);
  last_time_ = t;
  return t;
}

void Tracer::message(std::string_view text, pid_t pid) {
  const int cpu = cpu_of_caller_();
  std::lock_guard lock(mu_);
  if (!on_.load(std::memory_order_relaxed)) return;
  const uint32_t c = uint32_t(cpu) % uint32_t(cpus_.size());
  blktrace::Record r;
  r.sequence = ++cpus_[c].sequence;
  r.time = stamp_locked(0);
  r.action = blktrace::kMessageNote;
  r.pid = uint32_t(pid);
  r.device = device_;
  r.cpu = c;
  r.pdu.assign(reinterpret_cast<const std::byte*>(text.data()),
               reinterpret_cast<const std::byte*>(text.data()) + text.size());
  blktrace::encode(r, cpus_[c].buf);
}

uint64_t Tracer::record(const TraceEvent& ev) {
  const int cpu = cpu_of_caller_();
  std::lock_guard lock(mu_);
  if (!on_.load(std::memory_order_relaxed)) return 0;
  const uint32_t c = uint32_t(cpu) % uint32_t(cpus_.size());
  CpuFile& f = cpus_[c];
  const uint64_t t = stamp_locked(ev.at);
  static const std::array<char, 16> kNoName{};
  note_process_locked(f, c, t, ev.pid, ev.comm ? *ev.comm : kNoName);
  blktrace::Record r;
  r.sequence = ++f.sequence;
  r.time = t;
  r.sector = ev.sector;
  r.bytes = ev.bytes;
  r.action = blktrace::action_word(ev.act) | ev.io_bits;
  r.pid = uint32_t(ev.pid);
  r.device = device_;
  r.cpu = c;
  r.error = uint16_t(ev.error);
  if (ev.has_pdu) r.pdu = blktrace::be64_pdu(ev.pdu);
  blktrace::encode(r, f.buf);
  if (f.buf.size() >= kFlushBytes) {
    Status st = write_out_locked(f);
    if (!st.is_ok() && write_error_.is_ok()) write_error_ = st;
  }
  return t;
}

}  // namespace cardfs::blockdev
