// Tracer: records queue events in blktrace's binary format.
//
// start(NAME) opens NAME.blktrace.0 .. NAME.blktrace.<ncpu-1> (as blktrace
// does, one per CPU, empty ones included); each event goes to the file of
// the CPU it happened on, with a per-CPU sequence number and a timestamp
// from the injected clock, in ns since start(). Timestamps are made
// strictly increasing (ties bumped by 1 ns) so every reader sorts the same
// way. The first event of each (pid, comm) is preceded by a process note,
// which is how blkparse learns command names. When off, on() is one
// relaxed atomic load: callers test it before building an event.
// Thread-safe.
#pragma once

#include <sys/types.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <functional>
#include <mutex>
#include <set>
#include <string>
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
};

class Tracer {
 public:
  // cpu_of_caller defaults to sched_getcpu(); tests may pin it.
  Tracer(const Clock& clock, uint32_t device, std::function<int()> cpu_of_caller = {});
  ~Tracer();

  Status start(const std::string& name);
  // Writes what is buffered and closes the files; a no-op when off.
  Status stop();
  bool on() const { return on_.load(std::memory_order_relaxed); }
  void record(const TraceEvent& ev);
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

  const Clock& clock_;
  const uint32_t device_;
  std::function<int()> cpu_of_caller_;
  std::atomic<bool> on_{false};
  std::mutex mu_;
  std::vector<CpuFile> cpus_;
  Nanos origin_{0};
  uint64_t last_time_ = 0;
  std::set<std::pair<pid_t, std::string>> noted_;
  pid_t last_noted_pid_ = -1;
  std::array<char, 16> last_noted_comm_{};
  Status write_error_;
};

}  // namespace cardfs::blockdev
