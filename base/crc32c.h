// CRC-32C (Castagnoli), as ext4 and SD out-of-band metadata checks use it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace cardfs {

// Extends crc with data. Start with crc = 0 (or a seed) for a fresh sum.
uint32_t crc32c(uint32_t crc, std::span<const std::byte> data);
inline uint32_t crc32c(std::span<const std::byte> data) { return crc32c(0, data); }
// The table-driven version crc32c() falls back to on CPUs without SSE4.2
// (crc32c() uses the crc32 instruction when it can; both give equal sums).
uint32_t crc32c_portable(uint32_t crc, std::span<const std::byte> data);

}  // namespace cardfs
