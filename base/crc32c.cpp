#include "base/crc32c.h"

#include <array>
#include <cstring>

namespace cardfs {
namespace {

// Slicing-by-8 tables for the reflected polynomial 0x82F63B78.
using Tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr Tables make_tables() {
  Tables t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i)
    for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
  return t;
}

constexpr Tables kTables = make_tables();

// Polynomials mod P in the reflected order (bit 31 is x^0): a * b mod P.
constexpr uint32_t multmodp(uint32_t a, uint32_t b) {
  uint32_t p = 0;
  for (int i = 31; i >= 0; --i) {
    p ^= b & (0u - ((a >> i) & 1));
    b = (b >> 1) ^ (0x82F63B78u & (0u - (b & 1)));
  }
  return p;
}

// x^(8n) mod P for n < 256 (low) and for n = 256 * i, i < 256 (high): a
// shift past n zero bytes is one or two multiplications.
struct ShiftTables {
  std::array<uint32_t, 256> low{}, high{};
};

constexpr ShiftTables make_shift_tables() {
  ShiftTables t;
  const uint32_t x8 = 1u << 23;  // x^8
  uint32_t p = 1u << 31;         // x^0
  for (int i = 0; i < 256; ++i, p = multmodp(p, x8)) t.low[i] = p;
  const uint32_t x2048 = p;      // x^(8 * 256)
  p = 1u << 31;
  for (int i = 0; i < 256; ++i, p = multmodp(p, x2048)) t.high[i] = p;
  return t;
}

constexpr ShiftTables kShift = make_shift_tables();

// x^(8 * bytes) mod P for bytes < 65536: what a register is multiplied by
// when `bytes` zero bytes pass through it.
constexpr uint32_t zeros_factor(size_t bytes) {
  return multmodp(kShift.high[bytes >> 8], kShift.low[bytes & 255]);
}

#if defined(__x86_64__)
// SSE4.2's crc32 instruction computes this very polynomial, 8 bytes per
// instruction: every checksummed block (directory blocks, card pages and
// their OOB records) costs a tenth of the table walk. One instruction
// waits for the one before it (3 cycles) but a core starts one per cycle,
// so a long buffer runs as three streams, each summed from zero, and the
// sums are joined by shifting each over the bytes that follow it
// (Mark Adler's crc32c.c does the same): a 4 KiB block in a third of the time.

// The register's product with zeros_factor(bytes) by table, a byte of
// the register at a time (the join of the streams is on the hot path).
using ShiftTable = std::array<std::array<uint32_t, 256>, 4>;

constexpr ShiftTable shift_table(size_t bytes) {
  const uint32_t factor = zeros_factor(bytes);
  ShiftTable t{};
  for (uint32_t n = 0; n < 256; ++n)
    for (int k = 0; k < 4; ++k) t[k][n] = multmodp(factor, n << (8 * k));
  return t;
}

inline uint32_t shift(const ShiftTable& t, uint32_t crc) {
  return t[0][crc & 0xff] ^ t[1][(crc >> 8) & 0xff] ^ t[2][(crc >> 16) & 0xff] ^ t[3][crc >> 24];
}

// Stream lengths: 3 x 1360 bytes cover a 4 KiB block but 16 bytes (a
// directory block's checksummed 4084 but 4); 3 x 80 an inode's 256 but 16.
constexpr size_t kLong = 1360, kShort = 80;
constexpr ShiftTable kShiftLong = shift_table(kLong);
constexpr ShiftTable kShiftShort = shift_table(kShort);

__attribute__((target("sse4.2"))) inline uint64_t load64(const uint8_t* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

// Consumes whole runs of 3 x len bytes (len a multiple of 8).
__attribute__((target("sse4.2"), always_inline)) inline uint64_t three_streams(
    uint64_t c0, const uint8_t*& p, size_t& n, size_t len, const ShiftTable& t) {
  while (n >= 3 * len) {
    uint64_t c1 = 0, c2 = 0;
    for (size_t i = 0; i < len; i += 8) {
      c0 = __builtin_ia32_crc32di(c0, load64(p + i));
      c1 = __builtin_ia32_crc32di(c1, load64(p + len + i));
      c2 = __builtin_ia32_crc32di(c2, load64(p + 2 * len + i));
    }
    c0 = shift(t, uint32_t(c0)) ^ uint32_t(c1);
    c0 = shift(t, uint32_t(c0)) ^ uint32_t(c2);
    p += 3 * len;
    n -= 3 * len;
  }
  return c0;
}

__attribute__((target("sse4.2"))) uint32_t crc32c_sse42(uint32_t c, const uint8_t* p, size_t n) {
  uint64_t c64 = c;
  c64 = three_streams(c64, p, n, kLong, kShiftLong);
  c64 = three_streams(c64, p, n, kShort, kShiftShort);
  while (n >= 8) {
    c64 = __builtin_ia32_crc32di(c64, load64(p));
    p += 8;
    n -= 8;
  }
  c = uint32_t(c64);
  while (n--) c = __builtin_ia32_crc32qi(c, *p++);
  return c;
}

bool have_sse42() {
  static const bool has = __builtin_cpu_supports("sse4.2");
  return has;
}
#endif

}  // namespace

uint32_t crc32c_linear(std::span<const std::byte> data) { return ~crc32c(~0u, data); }

uint32_t crc32c_shift(uint32_t linear, uint64_t zeros) {
  const ShiftTables& t = kShift;
  while (zeros >= 65536) {  // x^(8 * 65536) = high[255] * x^(8 * 256)
    linear = multmodp(t.high[255], multmodp(t.high[1], linear));
    zeros -= 65536;
  }
  if (zeros >= 256) linear = multmodp(t.high[zeros >> 8], linear);
  return multmodp(t.low[zeros & 255], linear);
}

uint32_t crc32c_patch(uint32_t crc, uint64_t len, uint64_t at, std::span<const std::byte> before,
                      std::span<const std::byte> after) {
  const uint32_t d = crc32c_linear(before) ^ crc32c_linear(after);
  return crc ^ crc32c_shift(d, len - at - before.size());
}

uint32_t crc32c_portable(uint32_t crc, std::span<const std::byte> data) {
  uint32_t c = ~crc;
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  size_t n = data.size();
  while (n >= 8) {
    uint32_t lo = c ^ (uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 |
                       uint32_t(p[3]) << 24);
    c = kTables[7][lo & 0xff] ^ kTables[6][(lo >> 8) & 0xff] ^ kTables[5][(lo >> 16) & 0xff] ^
        kTables[4][lo >> 24] ^ kTables[3][p[4]] ^ kTables[2][p[5]] ^ kTables[1][p[6]] ^
        kTables[0][p[7]];
    p += 8;
    n -= 8;
  }
  while (n--) c = kTables[0][(c ^ *p++) & 0xff] ^ (c >> 8);
  return ~c;
}

uint32_t crc32c(uint32_t crc, std::span<const std::byte> data) {
#if defined(__x86_64__)
  if (have_sse42())
    return ~crc32c_sse42(~crc, reinterpret_cast<const uint8_t*>(data.data()), data.size());
#endif
  return crc32c_portable(crc, data);
}

}  // namespace cardfs
