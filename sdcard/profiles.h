// Profiles: the named cards the emulator can be, with their timing model.
//
// A profile is immutable data. Cards true to their marking (class2 ...
// a2) meet their class's minimum; seed-class10 and seed-class4 reproduce
// the two cards measured in seed 004 on its slow host. docs/sdcard.md gives
// the source of every number. Thread-safe (read-only table).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/status.h"

namespace cardfs::sdcard {

// How the card maps writes to flash.
enum class FtlKind : uint8_t {
  kBlock,  // AU-associative: a few open AUs, merge on close (cheap cards)
  kPage,   // page-mapped log with greedy garbage collection (A1/A2 cards)
};

struct Profile {
  std::string_view name;
  std::string_view summary;
  // Markings, as reported in the SD Status register.
  uint8_t speed_class = 0;      // 0, 2, 4, 6, 10
  uint8_t uhs_grade = 0;        // 0, 1, 3
  uint8_t video_class = 0;      // 0, 6, 10, 30 ...
  uint8_t app_class = 0;        // 0, 1 (A1), 2 (A2)
  // Flash organisation.
  uint32_t au_bytes = 4u << 20;           // allocation unit (SSR AU_SIZE)
  uint32_t page_bytes = 16u << 10;        // flash page (program unit)
  uint32_t erase_block_bytes = 512u << 10;
  uint32_t write_buffer_bytes = 512u << 10;  // volatile RU buffer
  uint32_t open_aus = 1;                  // AUs that take writes without a merge
  FtlKind ftl = FtlKind::kBlock;
  // Timing model.
  double bus_bytes_per_sec = 12.5e6;      // data transfer on the SD bus
  Nanos command_overhead{0};              // per command (host + card firmware)
  Nanos page_read{0};                     // flash page read into the card's buffer
  Nanos page_program{0};                  // flash page program
  Nanos page_move{0};                     // copy of one valid page during a merge/GC
  Nanos block_erase{0};                   // per erase block
  uint8_t tran_speed = 0x32;              // CSD TRAN_SPEED code (0x32: 25 MHz)
  // The host the profile was measured on: its controller's largest command
  // in KiB (the queue's max_hw_sectors_kb and max_sectors_kb), 0 when the
  // timing does not depend on it (the queue's default, 512). A card timed
  // through 64 KiB commands pays its per-command overhead per 64 KiB; the
  // same card behind 512 KiB commands would look faster than measured.
  uint32_t host_max_sectors_kb = 0;
  // Endurance: program/erase cycles an AU's flash is rated for, the NAND
  // that figure assumes, and where it comes from (docs/sdcard.md
  // "Endurance"). SD cards publish no rating; these are stated assumptions.
  uint32_t rated_pe_cycles = 1000;
  std::string_view nand = "TLC";
  std::string_view endurance_source;
};

// All profiles, in display order.
std::span<const Profile> profiles();

// The profile called name; ENOENT listing the known names otherwise.
Result<const Profile*> find_profile(std::string_view name);

// Device time of transferring `bytes` over the profile's bus.
Nanos transfer_time(const Profile& p, uint64_t bytes);

}  // namespace cardfs::sdcard
