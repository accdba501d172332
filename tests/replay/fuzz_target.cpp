// libFuzzer target: arbitrary bytes through every trace reader (as one
// blktrace file, as two per-CPU halves, as blkparse, ftrace and fio text),
// and whatever parses, if small, replayed on a dataless card. A reader
// may refuse any input with an error, never crash, hang or leak. Built
// with clang only (-DCARDFS_FUZZ=ON); run by tests/fsck/fuzz/run.sh with
// FUZZ_TARGET=replay_fuzz (docs/replay.md).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sdcard/profiles.h"
#include "tools/replay/replayer.h"
#include "tools/replay/trace.h"

namespace {

using namespace cardfs::replay;

// Replays traces that fit a small card, to reach the replayer with odd
// events (empty writes, zero-length discards, flushes only ...).
void try_replay(const cardfs::Result<Trace>& t) {
  constexpr uint64_t kMaxSectors = 64ull << 20 >> 9;
  if (!t.is_ok() || t->events.size() > 2000 || t->end_sector() > kMaxSectors) return;
  ReplayOptions o;
  o.from = t->count(Stage::kDispatch) > 0 && t->events.size() % 2 ? Stage::kDispatch : Stage::kQueue;
  (void)replay(*t, **cardfs::sdcard::find_profile("class10"), o);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto* bytes = reinterpret_cast<const std::byte*>(data);
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try_replay(read_blktrace({{"t.blktrace.0", std::vector<std::byte>(bytes, bytes + size)}}));
  const size_t half = size / 96 * 48;  // whole records in the first file
  (void)read_blktrace({{"t.blktrace.0", std::vector<std::byte>(bytes, bytes + half)},
                       {"t.blktrace.1", std::vector<std::byte>(bytes + half, bytes + size)}});
  try_replay(read_blkparse("t", text));
  try_replay(read_ftrace("t", text));
  try_replay(read_fio_iolog("t", text));
  return 0;
}
