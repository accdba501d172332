// SD registers of the emulated card: CID, CSD and SD Status (SSR), derived
// from the profile and geometry, encoded bit for bit as the SD Physical
// Layer Specification lays them out (most significant bit first, as sent
// on the bus), and decoded field by field for display. Pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "sdcard/geometry.h"
#include "sdcard/profiles.h"

namespace cardfs::sdcard {

struct Registers {
  std::array<uint8_t, 16> cid{};
  std::array<uint8_t, 16> csd{};
  std::array<uint8_t, 64> ssr{};
};

// serial goes into the CID's PSN field.
Registers encode_registers(const Profile& p, const Geometry& g, uint32_t serial);

struct RegisterField {
  std::string name;     // the specification's field name, e.g. "AU_SIZE"
  uint64_t raw = 0;     // the bits as stored
  std::string meaning;  // decoded, e.g. "4 MiB"; empty when raw says it all
};

// TAAC (read access time: "1.5 ms") and TRAN_SPEED (the maximum rate
// per data line: "50 Mbit/s per data line") as the CSD encodes them, a
// time value (bits 6:3) times a unit (bits 2:0); "reserved" for the codes
// the specification leaves undefined.
std::string taac_text(uint64_t taac);
std::string tran_speed_text(uint64_t tran_speed);

std::vector<RegisterField> decode_cid(std::span<const uint8_t, 16> cid);
std::vector<RegisterField> decode_csd(std::span<const uint8_t, 16> csd);
std::vector<RegisterField> decode_ssr(std::span<const uint8_t, 64> ssr);

// Bits [msb, msb-width+1] of a register of bytes.size()*8 bits.
uint64_t register_bits(std::span<const uint8_t> bytes, unsigned msb, unsigned width);

// The 7-bit CRC (x^7 + x^3 + 1) the CID and CSD carry in bits [7:1].
uint8_t crc7(std::span<const uint8_t> bytes);

}  // namespace cardfs::sdcard
