// Bio: one block I/O as the page cache hands it to the block layer.
//
// Contract (the cache submits against it, the queue and the drivers
// complete against it):
// - sector and sizes are in 512-byte sectors; every segment length is a
//   multiple of 512 and at most one page (4096) for bios from the cache.
// - segment memory belongs to the submitter and must stay valid and
//   unchanged until on_complete runs.
// - on_complete runs exactly once, with 0 or -errno, on any thread; it must
//   not block for long (it may run on the device's completion thread).
#pragma once

#include <sys/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace cardfs::blockdev {

inline constexpr uint32_t kSectorSize = 512;

enum class BioOp : uint8_t { kRead, kWrite, kFlush, kDiscard };

// Flags as REQ_* in Linux; they show in traces as RWBS letters.
enum BioFlag : uint32_t {
  kBioSync = 1u << 0,       // S: the submitter waits for it
  kBioFua = 1u << 1,        // F: forced unit access, on stable media at completion
  kBioPreflush = 1u << 2,   // F before the op: flush the device cache first
  kBioReadahead = 1u << 3,  // A: speculative read
  kBioMeta = 1u << 4,       // M: filesystem metadata
};

struct Segment {
  std::byte* data = nullptr;  // for writes the bytes are only read
  uint32_t len = 0;           // bytes, a multiple of kSectorSize
};

struct Bio {
  BioOp op = BioOp::kRead;
  uint64_t sector = 0;            // start, in 512-byte sectors
  uint64_t discard_sectors = 0;   // length of a discard (no segments)
  std::vector<Segment> segments;  // empty for flush and discard
  uint32_t flags = 0;             // BioFlag bits
  pid_t pid = 0;                  // submitter, for traces (FUSE request's pid)
  std::array<char, 16> comm{};    // submitter's command name, NUL-terminated
  std::function<void(int status)> on_complete;

  uint64_t bytes() const {
    if (op == BioOp::kDiscard) return discard_sectors * kSectorSize;
    uint64_t n = 0;
    for (const auto& s : segments) n += s.len;
    return n;
  }
  uint64_t sectors() const { return bytes() / kSectorSize; }
};

using BioPtr = std::unique_ptr<Bio>;

// Who submits: sets bio.pid/comm for the calling thread. Inside a
// RequesterScope it is the process the thread serves (a FUSE request's
// pid, with an empty comm that the tracer reads from /proc/PID/comm once
// per trace, as the kernel notes a task once per trace); otherwise the
// thread itself (gettid and its name, read once per thread).
void set_submitter_from_current_thread(Bio& bio);

// While alive, I/O the calling thread submits (and the D events it
// dispatches) is attributed to `pid`: a FUSE worker serving a request
// sets it to the requester, as the kernel runs a read, an fsync or an
// O_DIRECT write in the caller's context. Scopes nest; pid 0 is ignored.
class RequesterScope {
 public:
  explicit RequesterScope(pid_t pid);
  ~RequesterScope();
  RequesterScope(const RequesterScope&) = delete;
  RequesterScope& operator=(const RequesterScope&) = delete;

 private:
  pid_t saved_;
};

// Kernel threads cardfs's own threads stand for in traces. Linux's
// flusher is an unbound workqueue worker, "kworker/u<pool>:<n>" (the
// article's 8-CPU host shows kworker/u16:0; we use 2 × CPUs as the pool
// id); `ps` adds "+flush-179:0" from the work item, but a task's comm,
// which blktrace records, holds 15 characters and never has it. The
// journal is jbd2's "jbd2/<dev>-8".
enum class KernelThread { kFlusher, kJournal };
std::string kernel_thread_name(KernelThread which);
// What traces call the calling thread (its pthread name, which ps and top
// show, stays): the flusher is "flush-data" to ps and a kworker in traces.
void set_thread_trace_name(const std::string& name);

}  // namespace cardfs::blockdev
