#include "sdcard/page_crc.h"

#include <cstring>

#include "base/crc32c.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace cardfs::sdcard {
namespace {

// CRC-32C's polynomial, bit-reflected (the order the crc32 instruction uses).
constexpr uint32_t kPoly = 0x82F63B78u;

// a * b modulo the polynomial, both reflected (x^0 in the top bit).
uint32_t mul_mod(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  for (uint32_t m = 1u << 31; m != 0; m >>= 1) {
    if (a & m) product ^= b;
    b = (b & 1) ? (b >> 1) ^ kPoly : b >> 1;
  }
  return product;
}

// x^(8 * bytes) modulo the polynomial: multiplying a CRC state by it is
// what running the state over `bytes` zero bytes does.
uint32_t shift_for(uint64_t bytes) {
  uint32_t result = 1u << 31;  // x^0
  uint32_t square = 1u << 23;  // x^8: one byte
  for (; bytes != 0; bytes >>= 1) {
    if (bytes & 1) result = mul_mod(result, square);
    square = mul_mod(square, square);
  }
  return result;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint64_t hw_run(uint64_t c, const unsigned char* p, size_t words) {
  for (size_t i = 0; i < words; ++i) {
    uint64_t v;
    std::memcpy(&v, p + 8 * i, 8);
    c = _mm_crc32_u64(c, v);
  }
  return c;
}

// Three independent streams keep the crc32 unit busy (latency 3, one per
// cycle); their states are then joined: state(A B) = state(A) * x^(8|B|)
// xor state_from_zero(B). One page size is used at a time, so its shift
// factor is cached.
__attribute__((target("sse4.2"))) uint32_t hw_crc(uint32_t crc, std::span<const std::byte> data) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size();
  uint64_t c = ~crc;
  const size_t words = n / 24;  // per stream
  if (words >= 16) {
    thread_local uint64_t cached_bytes = 0;
    thread_local uint32_t cached_shift = 0;
    const uint64_t stream_bytes = words * 8;
    if (cached_bytes != stream_bytes) {
      cached_shift = shift_for(stream_bytes);
      cached_bytes = stream_bytes;
    }
    uint64_t c0 = c, c1 = 0, c2 = 0;
    for (size_t i = 0; i < words; ++i) {
      uint64_t v0, v1, v2;
      std::memcpy(&v0, p + 8 * i, 8);
      std::memcpy(&v1, p + stream_bytes + 8 * i, 8);
      std::memcpy(&v2, p + 2 * stream_bytes + 8 * i, 8);
      c0 = _mm_crc32_u64(c0, v0);
      c1 = _mm_crc32_u64(c1, v1);
      c2 = _mm_crc32_u64(c2, v2);
    }
    c = mul_mod(cached_shift, uint32_t(c0)) ^ uint32_t(c1);
    c = mul_mod(cached_shift, uint32_t(c)) ^ uint32_t(c2);
    p += 3 * stream_bytes;
    n -= 3 * stream_bytes;
  }
  c = hw_run(c, p, n / 8);
  p += n / 8 * 8;
  n %= 8;
  uint32_t c32 = uint32_t(c);
  while (n--) c32 = _mm_crc32_u8(c32, *p++);
  return ~c32;
}

const bool kHaveSse42 = __builtin_cpu_supports("sse4.2");
#endif

}  // namespace

uint32_t page_crc(std::span<const std::byte> data) { return page_crc(0, data); }

// The CRC's register (its complement) times x^(8 * bytes): what running
// it over that many zero bytes does.
uint32_t page_crc_zeros(uint32_t crc, uint64_t bytes) { return ~mul_mod(shift_for(bytes), ~crc); }

uint32_t page_crc(uint32_t crc, std::span<const std::byte> data) {
#if defined(__x86_64__)
  if (kHaveSse42) return hw_crc(crc, data);
#endif
  return crc32c(crc, data);
}

}  // namespace cardfs::sdcard
