#include <catch2/catch.hpp>

#include <cstddef>
#include <random>
#include <vector>

#include "base/crc32c.h"
#include "sdcard/page_crc.h"

namespace cardfs::sdcard {
namespace {

TEST_CASE("page_crc equals crc32c for every length and alignment", "[sdcard][crc]") {
  std::mt19937 rng(7);
  std::vector<std::byte> buf(70000);
  for (std::byte& b : buf) b = std::byte(rng());
  // Short tails, the three-stream threshold (384 bytes) and page sizes.
  for (size_t len : {0, 1, 7, 8, 23, 24, 383, 384, 385, 4096, 4097, 16384, 16391, 65536}) {
    for (size_t align = 0; align < 9; align += 4) {
      std::span<const std::byte> data(buf.data() + align, len);
      INFO("length " << len << " offset " << align);
      CHECK(page_crc(data) == crc32c(data));
    }
  }
}

TEST_CASE("page_crc sees a single flipped bit anywhere in a page", "[sdcard][crc]") {
  std::vector<std::byte> page(16384, std::byte{0x5A});
  const uint32_t clean = page_crc(page);
  for (size_t bit : {size_t(0), size_t(8 * 5461 + 3), size_t(8 * 10922 + 7), size_t(8 * 16383 + 7)}) {
    page[bit / 8] ^= std::byte(1u << (bit % 8));
    CHECK(page_crc(page) != clean);
    CHECK(page_crc(page) == crc32c(page));
    page[bit / 8] ^= std::byte(1u << (bit % 8));
  }
}

// A checkpoint's or clean map's CRC is taken a block at a time as the
// region is written (image_regions.cpp), pieces of any length.
TEST_CASE("page_crc continued piece by piece equals crc32c of the whole", "[sdcard][crc]") {
  std::mt19937 rng(11);
  std::vector<std::byte> buf(70000);
  for (std::byte& b : buf) b = std::byte(rng());
  for (size_t piece : {1, 7, 384, 4032, 4096, 5000}) {
    uint32_t crc = 0;
    for (size_t at = 0; at < buf.size(); at += piece)
      crc = page_crc(crc, std::span(buf).subspan(at, std::min(piece, buf.size() - at)));
    INFO("pieces of " << piece);
    CHECK(crc == crc32c(buf));
  }
}

TEST_CASE("page_crc_zeros equals the CRC continued over that many zero bytes", "[sdcard][crc]") {
  std::vector<std::byte> data(100000, std::byte{0});
  data[0] = std::byte{0x17};
  for (uint64_t zeros : {uint64_t(0), uint64_t(1), uint64_t(63), uint64_t(4096), uint64_t(99999)}) {
    const uint32_t head = page_crc(std::span(data).first(1));
    INFO(zeros << " zero bytes");
    CHECK(page_crc_zeros(head, zeros) == crc32c(std::span(data).first(1 + zeros)));
    CHECK(page_crc_zeros(0, zeros) == crc32c(std::span(data).subspan(1, zeros)));
  }
}

}  // namespace
}  // namespace cardfs::sdcard
