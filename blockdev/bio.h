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

// Sets bio.pid/comm from the calling thread (gettid and /proc comm), used
// where no FUSE request context names a better submitter.
void set_submitter_from_current_thread(Bio& bio);

}  // namespace cardfs::blockdev
