// Random 4 KiB writes over the first part of a class10 card in memory
// (block FTL, 2 open AUs: random writes over more than two AUs merge at
// nearly every flush), each 4 KiB block tagged with the write that last
// wrote it, with the tags flushed and written per block: what the merge
// entry and name table tests check after power cuts and crashes. Also the
// count of merge table entries with a magic.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "sdcard/card.h"
#include "sdcard/geometry.h"
#include "sdcard/image_format.h"
#include "sdcard/memory_medium.h"

namespace cardfs::sdcard::testing {

struct TaggedWorkload {
  // A card of card_bytes, writes over its first region_bytes.
  TaggedWorkload(uint64_t card_bytes, uint64_t region_bytes, bool durable = false, uint32_t flush_every = 32);
  uint64_t card_bytes;
  uint64_t blocks;  // 4 KiB blocks written
  bool durable;
  uint32_t flush_every;  // writes
  std::shared_ptr<MemoryMedium> medium = std::make_shared<MemoryMedium>();
  VirtualClock clock;
  std::vector<uint32_t> flushed;
  std::vector<uint32_t> written;
  uint32_t next = 1;

  CardOptions options() const;
  Result<std::unique_ptr<Card>> create();
  Result<std::unique_ptr<Card>> open();
  // The region written in order, 1 MiB at a time, then flushed.
  bool fill(Card& card);
  // `writes` random 4 KiB writes over the first `limit` blocks (0: all), a
  // flush every `flush_every`; false once the power failed.
  bool run(Card& card, int writes, uint64_t seed, uint64_t limit = 0);
  // Blocks that read neither their flushed tag nor a later one written.
  uint64_t lost_blocks(Card& card) const;
  // After a power-on that lost nothing: 100 more writes with merges and
  // erases, a clean close, and the reopened card loses nothing.
  void keeps_working(Result<std::unique_ptr<Card>>& card, uint64_t seed);
  // What each block reads now is its flushed value (writes lost in a cut
  // are not flushed later).
  void adopt(Card& card);
};

// The entries of the merge table of the image at path whose first four
// bytes are `magic`.
uint32_t entries_with_magic(const std::string& path, const Geometry& g, const char (&magic)[5]);

// Each entry of the merge table of the image at path that decodes, given
// to `rewrite`; one it returns true for is encoded again (packed, or in
// version 6's 4 bytes per name) in its place. Returns how many were:
// what the upgrade tests make an older cardfs's image from.
uint32_t rewrite_merge_entries(const std::string& path, const Geometry& g, bool packed,
                               const std::function<bool(MergeEntry&)>& rewrite);

}  // namespace cardfs::sdcard::testing
