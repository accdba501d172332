// Health: how much of a card's rated life its wear has used, and the
// eMMC-style estimate of it.
//
// SD cards have no standard health register; eMMC 5.0 has
// DEVICE_LIFE_TIME_EST_TYP_A/B (EXT_CSD bytes 268/269): 0x01 means 0-10 %
// of the device's life used, each step 10 % more, 0x0A 90-100 %, 0x0B
// past its estimated life. cardfs reports the same scale from the AUs'
// erase counts against the profile's rated P/E cycles. AUs waiting in the
// erase queue count as erased (pending wear): the card has committed to
// erasing them, so a short run does not under-report. Pure functions.
#pragma once

#include <cstdint>
#include <vector>

#include "sdcard/card.h"
#include "sdcard/profiles.h"

namespace cardfs::sdcard {

struct Health {
  uint32_t rated_pe_cycles = 0;
  uint32_t aus = 0;
  uint64_t erases = 0;      // sum of the AUs' erase counts
  uint32_t pending = 0;     // AUs in the erase queue (counted as one erase more)
  double mean_wear = 0;     // (erases + pending) / aus
  uint32_t max_wear = 0;    // the most worn AU, its pending erase counted
  double life_used = 0;     // mean_wear / rated_pe_cycles (1.0: rated life reached)
  uint8_t life_time_est = 0x01;  // eMMC DEVICE_LIFE_TIME_EST scale, 0x01-0x0B
};

Health health_of(const Profile& p, const std::vector<AuState>& aus);

// The eMMC DEVICE_LIFE_TIME_EST code of a share of life used: 0x01 for
// [0, 10 %), 0x02 for [10 %, 20 %) ... 0x0A for [90 %, 100 %), 0x0B from 100 %.
uint8_t life_time_estimate(double life_used);

// "0-10 % of rated life used", ..., "exceeded its rated life".
const char* life_time_meaning(uint8_t code);

}  // namespace cardfs::sdcard
