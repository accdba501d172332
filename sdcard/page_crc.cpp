#include "sdcard/page_crc.h"

#include <cstring>

#include "base/crc32c.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace cardfs::sdcard {
namespace {

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t hw_crc(std::span<const std::byte> data) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size();
  uint64_t c = 0xFFFFFFFFu;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
    p += 8;
    n -= 8;
  }
  uint32_t c32 = uint32_t(c);
  while (n--) c32 = _mm_crc32_u8(c32, *p++);
  return ~c32;
}

const bool kHaveSse42 = __builtin_cpu_supports("sse4.2");
#endif

}  // namespace

uint32_t page_crc(std::span<const std::byte> data) {
#if defined(__x86_64__)
  if (kHaveSse42) return hw_crc(data);
#endif
  return crc32c(data);
}

}  // namespace cardfs::sdcard
