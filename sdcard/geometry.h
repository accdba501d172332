// Geometry: how the card's capacity divides into sectors, flash pages,
// erase blocks and allocation units (AUs), and how many spare AUs the FTL
// keeps. Plain value type; thread-compatible.
#pragma once

#include <cstdint>

#include "base/status.h"
#include "sdcard/profiles.h"

namespace cardfs::sdcard {

inline constexpr uint32_t kSectorBytes = 512;

struct Geometry {
  uint32_t page_bytes = 0;
  uint32_t pages_per_au = 0;
  uint32_t erase_block_bytes = 0;
  uint32_t user_aus = 0;   // AUs the host can address
  uint32_t spare_aus = 0;  // over-provisioning for open AUs, merges, GC

  uint64_t au_bytes() const { return uint64_t(page_bytes) * pages_per_au; }
  uint32_t physical_aus() const { return user_aus + spare_aus; }
  uint64_t user_pages() const { return uint64_t(user_aus) * pages_per_au; }
  uint64_t physical_pages() const { return uint64_t(physical_aus()) * pages_per_au; }
  uint32_t sectors_per_page() const { return page_bytes / kSectorBytes; }
  uint64_t user_bytes() const { return uint64_t(user_aus) * au_bytes(); }
  uint64_t sector_count() const { return user_bytes() / kSectorBytes; }
  uint32_t erase_blocks_per_au() const { return uint32_t(au_bytes() / erase_block_bytes); }
};

// The geometry of a new card of size_bytes with profile p. EINVAL when the
// size is not a positive multiple of the AU, or the profile's AU is not one
// the SD specification allows at that capacity.
Result<Geometry> make_geometry(const Profile& p, uint64_t size_bytes);

// Checks a geometry read from an image (every field bounded, sizes
// consistent). EINVAL naming the bad field.
Status check_geometry(const Geometry& g);

// The SSR AU_SIZE code (1: 16 KiB ... 15: 64 MiB) of au_bytes, or 0 when
// the size has no code.
uint8_t au_size_code(uint64_t au_bytes);
// The AU size a code stands for; 0 for code 0 or an unknown code.
uint64_t au_bytes_from_code(uint8_t code);
// Largest AU the specification allows for a card of capacity_bytes:
// 4 MiB for SDSC/SDHC (up to 32 GiB), 64 MiB for SDXC.
uint64_t max_au_bytes(uint64_t capacity_bytes);

}  // namespace cardfs::sdcard
