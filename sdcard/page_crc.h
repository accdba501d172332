// crc32c of a flash page's data, computed with the SSE4.2 crc32
// instruction when the CPU has it (the write path computes one per page
// programmed, so the table-driven base/crc32c.h would dominate fast-mode
// throughput). Same value as cardfs::crc32c(data). Thread-safe.
#pragma once

#include <cstdint>
#include <span>

namespace cardfs::sdcard {

uint32_t page_crc(std::span<const std::byte> data);
// The CRC of bytes that `crc` was the CRC of, followed by `data` (as
// crc32c(crc, data)): a long run CRC'd a piece at a time.
uint32_t page_crc(uint32_t crc, std::span<const std::byte> data);
// The same over `bytes` zero bytes, without reading any (a hole of a
// region read only where it holds data).
uint32_t page_crc_zeros(uint32_t crc, uint64_t bytes);

}  // namespace cardfs::sdcard
