// Helpers shared by the Queue's source files (not part of its contract).
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>

#include "blockdev/limits.h"
#include "blockdev/trace_format.h"

namespace cardfs::blockdev {

// The category bits a trace gives I/O of this shape (RWBS).
uint32_t io_bits(const IoShape& s);

// What Linux's flush machinery issues for a flush: REQ_OP_FLUSH, "FN".
inline constexpr uint32_t kFlushCommandBits = blktrace::category(blktrace::kTcRead | blktrace::kTcFlush);

// The calling thread as a trace names it (D and C events).
struct Task {
  pid_t pid = 0;
  std::array<char, 16> comm{};
};
Task current_task();

}  // namespace cardfs::blockdev
