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

// Changing bytes in the middle of a message changes its crc32c by an amount
// that depends only on the changed bytes and how many follow them (the sum
// is linear): crc32c_patch gives the new sum of a `len`-byte message whose
// bytes [at, at + before.size()) went from `before` to `after` (equal
// sizes), from its old sum `crc`, in time that does not grow with len.
// crc32c_linear and crc32c_shift are its two halves, for a caller that
// cannot keep the old bytes: xor crc32c_linear of the old and of the new
// bytes, shift that past the `zeros` bytes after them, xor it into the sum.
uint32_t crc32c_linear(std::span<const std::byte> data);
uint32_t crc32c_shift(uint32_t linear, uint64_t zeros);
uint32_t crc32c_patch(uint32_t crc, uint64_t len, uint64_t at, std::span<const std::byte> before,
                      std::span<const std::byte> after);

}  // namespace cardfs
