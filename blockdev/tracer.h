// Tracer: records queue events in blktrace's binary format.
//
// start(NAME) opens NAME.blktrace.0 .. NAME.blktrace.<ncpu-1> (as blktrace
// does, one per CPU, empty ones included); each event goes to the file of
// the CPU it happened on, with a per-CPU sequence number and a timestamp
// from the injected clock, in ns since start(). Timestamps are made
// strictly increasing (ties bumped by 1 ns) so every reader sorts the same
// way. The first event of each (pid, comm) is preceded by a process note,
// which is how blkparse learns command names; an event with an empty
// comm names a process by pid alone, read from /proc/PID/comm once per
// trace. When off, on() is one
// relaxed atomic load: callers test it before building an event.
//
// Two timelines (TraceClock, chosen at start()): kHost stamps each event
// with the injected clock; kCard stamps it on the card's modeled
// timeline: an event that says when it happened there (TraceEvent::at, a
// completion at its dispatch time + the command's device time) is put at
// that time, and every later event moves by the same amount, so D→C is
// the device time even when fast mode finished the command at once.
// Thread-safe.
#pragma once

#include <sys/types.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "blockdev/trace_format.h"

namespace cardfs::blockdev {

struct TraceEvent {
  blktrace::Act act;
  uint32_t io_bits = 0;  // category bits of the I/O (write, sync, fua ...)
  uint64_t sector = 0;
  uint32_t bytes = 0;
  pid_t pid = 0;
  const std::array<char, 16>* comm = nullptr;
  int error = 0;         // positive errno for C events
  bool has_pdu = false;  // U, UT, X
  uint64_t pdu = 0;
  // kCard only: the event's time on the trace's timeline (ns since start),
  // when the caller knows it; 0 = now.
  uint64_t at = 0;
};

enum class TraceClock { kHost, kCard };

class Tracer {
 public:
  // cpu_of_caller defaults to sched_getcpu(); tests may pin it.
  Tracer(const Clock& clock, uint32_t device, std::function<int()> cpu_of_caller = {});
  ~Tracer();

  Status start(const std::string& name, TraceClock clock = TraceClock::kHost);
  // Writes what is buffered and closes the files; a no-op when off.
  Status stop();
  bool on() const { return on_.load(std::memory_order_relaxed); }
  // Records ev; returns its timestamp (0 when off).
  uint64_t record(const TraceEvent& ev);
  // A text message (blk_add_trace_msg's notify event), e.g. a user's
  // marker; nothing when off.
  void message(std::string_view text, pid_t pid);
  TraceClock clock_mode() const { return mode_.load(std::memory_order_relaxed); }
  uint32_t device() const { return device_; }

 private:
  struct CpuFile {
    std::FILE* file = nullptr;
    uint32_t sequence = 0;
    std::vector<std::byte> buf;
  };
  void note_process_locked(CpuFile& f, uint32_t cpu, uint64_t time, pid_t pid,
                           const std::array<char, 16>& comm);
  Status write_out_locked(CpuFile& f);
  uint64_t stamp_locked(uint64_t at);  // the next event's time (see TraceClock)
  const std::array<char, 16>& resolve_locked(pid_t pid);

  const Clock& clock_;
  const uint32_t device_;
  std::function<int()> cpu_of_caller_;
  std::atomic<bool> on_{false};
  std::mutex mu_;
  std::vector<CpuFile> cpus_;
  Nanos origin_{0};
  std::atomic<TraceClock> mode_{TraceClock::kHost};
  int64_t card_offset_ = 0;  // kCard: card timeline minus host time since start
  uint64_t last_time_ = 0;
  std::set<std::pair<pid_t, std::string>> noted_;
  std::map<pid_t, std::array<char, 16>> resolved_;  // pid → /proc comm
  pid_t last_noted_pid_ = -1;
  std::array<char, 16> last_noted_comm_{};
  Status write_error_;
};

}  // namespace cardfs::blockdev
