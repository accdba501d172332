#include "sdcard/registers.h"

namespace cardfs::sdcard {
namespace {

void set_bits(std::span<uint8_t> bytes, unsigned msb, unsigned width, uint64_t value) {
  const unsigned total = unsigned(bytes.size()) * 8;
  for (unsigned i = 0; i < width; ++i) {
    unsigned bit = msb - i;                 // register bit number
    unsigned pos = total - 1 - bit;         // position from the first byte's MSB
    bool on = (value >> (width - 1 - i)) & 1;
    uint8_t mask = uint8_t(0x80 >> (pos % 8));
    bytes[pos / 8] = on ? uint8_t(bytes[pos / 8] | mask) : uint8_t(bytes[pos / 8] & ~mask);
  }
}

void finish_crc(std::span<uint8_t, 16> reg) {
  set_bits(reg, 7, 7, crc7(std::span<const uint8_t>(reg.data(), 15)));
  set_bits(reg, 0, 1, 1);
}

std::array<uint8_t, 16> encode_cid(uint32_t serial) {
  std::array<uint8_t, 16> r{};
  set_bits(r, 127, 8, 0x7C);             // MID: an unassigned id for the emulator
  set_bits(r, 119, 16, ('C' << 8) | 'F');  // OID
  const char* pnm = "CRDFS";
  for (int i = 0; i < 5; ++i) set_bits(r, 103 - 8 * i, 8, uint8_t(pnm[i]));
  set_bits(r, 63, 8, 0x10);              // PRV 1.0
  set_bits(r, 55, 32, serial);           // PSN
  set_bits(r, 19, 12, (26 << 4) | 1);    // MDT: 2026-01
  finish_crc(r);
  return r;
}

// CSD version 1.0 for standard capacity (<= 2 GiB), 2.0 above.
std::array<uint8_t, 16> encode_csd(const Profile& p, const Geometry& g) {
  std::array<uint8_t, 16> r{};
  const uint64_t bytes = g.user_bytes();
  const bool v2 = bytes > (2ull << 30);
  set_bits(r, 127, 2, v2 ? 1 : 0);
  set_bits(r, 119, 8, 0x0E);        // TAAC: 1 ms
  set_bits(r, 111, 8, 0);           // NSAC
  set_bits(r, 103, 8, p.tran_speed);
  set_bits(r, 95, 12, 0x5B5);       // CCC: classes 0, 2, 4, 5, 7, 8, 10
  set_bits(r, 83, 4, 9);            // READ_BL_LEN: 512
  if (v2) {
    set_bits(r, 69, 22, bytes / (512 * 1024) - 1);
  } else {
    // capacity = (C_SIZE+1) * 2^(C_SIZE_MULT+2) * 512: the smallest multiplier
    // that fits C_SIZE in 12 bits (sizes are whole AUs, so this is exact).
    unsigned mult = 0;
    while (mult < 7 && bytes / (512ull << (mult + 2)) > 4096) ++mult;
    set_bits(r, 73, 12, bytes / (512ull << (mult + 2)) - 1);
    set_bits(r, 61, 3, 7);  // VDD_R_CURR_MIN 100 mA, VDD_R_CURR_MAX 80 mA,
    set_bits(r, 58, 3, 6);  // VDD_W_CURR_MIN 100 mA, VDD_W_CURR_MAX 80 mA
    set_bits(r, 55, 3, 7);
    set_bits(r, 52, 3, 6);
    set_bits(r, 49, 3, mult);
  }
  set_bits(r, 46, 1, 1);            // ERASE_BLK_EN: 512-byte erase
  set_bits(r, 45, 7, 0x7F);         // SECTOR_SIZE: 64 KiB erase sector
  set_bits(r, 28, 3, 2);            // R2W_FACTOR: x4
  set_bits(r, 25, 4, 9);            // WRITE_BL_LEN: 512
  finish_crc(r);
  return r;
}

uint8_t speed_class_code(uint8_t cls) {
  switch (cls) {
    case 2: return 1;
    case 4: return 2;
    case 6: return 3;
    case 10: return 4;
    default: return 0;
  }
}

std::array<uint8_t, 64> encode_ssr(const Profile& p, const Geometry& g) {
  std::array<uint8_t, 64> r{};
  set_bits(r, 511, 2, 2);  // DAT_BUS_WIDTH: 4 bit
  set_bits(r, 447, 8, speed_class_code(p.speed_class));
  // PERFORMANCE_MOVE in MB/s: the merge copy rate.
  const double move_mbs = double(g.page_bytes) / 1e6 / (double(p.page_move.count()) / 1e9);
  set_bits(r, 439, 8, move_mbs >= 254 ? 254 : uint64_t(move_mbs));
  set_bits(r, 431, 4, au_size_code(g.au_bytes()));
  set_bits(r, 423, 16, 1);  // ERASE_SIZE: erase timing given per AU
  const double erase_s = double(p.block_erase.count()) * g.erase_blocks_per_au() / 1e9;
  set_bits(r, 407, 6, erase_s < 1 ? 1 : uint64_t(erase_s + 1));  // ERASE_TIMEOUT, seconds
  set_bits(r, 401, 2, 0);   // ERASE_OFFSET
  set_bits(r, 399, 4, p.uhs_grade);
  set_bits(r, 395, 4, p.uhs_grade ? au_size_code(g.au_bytes()) : 0);  // UHS_AU_SIZE
  set_bits(r, 391, 8, p.video_class);
  set_bits(r, 339, 4, p.app_class);
  return r;
}

}  // namespace

uint64_t register_bits(std::span<const uint8_t> bytes, unsigned msb, unsigned width) {
  const unsigned total = unsigned(bytes.size()) * 8;
  uint64_t v = 0;
  for (unsigned i = 0; i < width; ++i) {
    unsigned pos = total - 1 - (msb - i);
    v = (v << 1) | ((bytes[pos / 8] >> (7 - pos % 8)) & 1);
  }
  return v;
}

uint8_t crc7(std::span<const uint8_t> bytes) {
  uint8_t crc = 0;
  for (uint8_t b : bytes) {
    for (int i = 7; i >= 0; --i) {
      bool in = ((b >> i) & 1) ^ ((crc >> 6) & 1);
      crc = uint8_t((crc << 1) & 0x7F);
      if (in) crc ^= 0x09;
    }
  }
  return crc;
}

Registers encode_registers(const Profile& p, const Geometry& g, uint32_t serial) {
  return Registers{encode_cid(serial), encode_csd(p, g), encode_ssr(p, g)};
}

}  // namespace cardfs::sdcard
