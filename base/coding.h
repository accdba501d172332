// Little-endian encoding of fixed-width fields, explicitly, byte by byte:
// on-disk structures are never made by casting a buffer to a struct.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace cardfs {

// Each byte named on its own line, not in a loop: g++ -O2 merges these
// into one load or store (its bswap and store-merging passes), where the
// loops it kept byte by byte for 4 and 8 bytes (a dependent shift and or
// per byte) and every directory walk, inode and journal tag paid for them.
inline void put_u8(std::byte* p, uint8_t v) { p[0] = std::byte(v); }
inline void put_u16(std::byte* p, uint16_t v) {
  p[0] = std::byte(v);
  p[1] = std::byte(v >> 8);
}
inline void put_u32(std::byte* p, uint32_t v) {
  p[0] = std::byte(v);
  p[1] = std::byte(v >> 8);
  p[2] = std::byte(v >> 16);
  p[3] = std::byte(v >> 24);
}
inline void put_u64(std::byte* p, uint64_t v) {
  put_u32(p, uint32_t(v));
  put_u32(p + 4, uint32_t(v >> 32));
}

inline uint8_t get_u8(const std::byte* p) { return uint8_t(p[0]); }
inline uint16_t get_u16(const std::byte* p) {
  return uint16_t(uint16_t(p[0]) | uint16_t(p[1]) << 8);
}
inline uint32_t get_u32(const std::byte* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
inline uint64_t get_u64(const std::byte* p) {
  return uint64_t(get_u32(p)) | uint64_t(get_u32(p + 4)) << 32;
}

// A bounds-checked cursor over a buffer being decoded. Reads past the end
// yield 0 and set ok() to false, so a decoder checks once at the end.
class Decoder {
 public:
  explicit Decoder(std::span<const std::byte> buf) : buf_(buf) {}
  uint8_t u8() { return take(1) ? get_u8(at_) : 0; }
  uint16_t u16() { return take(2) ? get_u16(at_) : 0; }
  uint32_t u32() { return take(4) ? get_u32(at_) : 0; }
  uint64_t u64() { return take(8) ? get_u64(at_) : 0; }
  void skip(size_t n) { take(n); }
  bool ok() const { return ok_; }
  size_t pos() const { return pos_; }

 private:
  bool take(size_t n) {
    if (!ok_ || n > buf_.size() - pos_) {
      ok_ = false;
      return false;
    }
    at_ = buf_.data() + pos_;
    pos_ += n;
    return true;
  }
  std::span<const std::byte> buf_;
  const std::byte* at_ = nullptr;
  size_t pos_ = 0;
  bool ok_ = true;
};

// The encoding twin of Decoder: writes past the end are dropped and clear ok().
class Encoder {
 public:
  explicit Encoder(std::span<std::byte> buf) : buf_(buf) {}
  void u8(uint8_t v) { if (take(1)) put_u8(at_, v); }
  void u16(uint16_t v) { if (take(2)) put_u16(at_, v); }
  void u32(uint32_t v) { if (take(4)) put_u32(at_, v); }
  void u64(uint64_t v) { if (take(8)) put_u64(at_, v); }
  void skip(size_t n) { take(n); }
  bool ok() const { return ok_; }
  size_t pos() const { return pos_; }

 private:
  bool take(size_t n) {
    if (!ok_ || n > buf_.size() - pos_) {
      ok_ = false;
      return false;
    }
    at_ = buf_.data() + pos_;
    pos_ += n;
    return true;
  }
  std::span<std::byte> buf_;
  std::byte* at_ = nullptr;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace cardfs
