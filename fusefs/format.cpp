#include "fusefs/format.h"

#include "fusefs/layout.h"

namespace cardfs::fusefs {

namespace {

uint64_t seeded_hash64(const std::array<uint32_t, 4>& seed, std::string_view name) {
  uint64_t h = (uint64_t(seed[1]) << 32 | seed[0]) ^ 0xcbf29ce484222325ull;
  const uint64_t k = uint64_t(seed[3]) << 32 | seed[2];
  for (unsigned char c : name) {
    h ^= c;
    h *= 0x100000001b3ull;
    h ^= h >> 29;
  }
  h ^= k;  // splitmix64's finaliser spreads the seed through every bit
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

}  // namespace

uint32_t seeded_name_hash(const std::array<uint32_t, 4>& seed, std::string_view name) {
  return uint32_t(seeded_hash64(seed, name) >> 32) & ~1u;
}

uint32_t seeded_minor_hash(const std::array<uint32_t, 4>& seed, std::string_view name) {
  return uint32_t(seeded_hash64(seed, name));
}

Result<PointerPath> pointer_path(uint64_t fb, uint64_t p) {
  PointerPath path;
  if (fb < kDirectBlocks) {
    path.slot[0] = uint32_t(fb);
    return path;
  }
  fb -= kDirectBlocks;
  uint64_t span = p;
  for (int depth = 1; depth <= 3; ++depth, span *= p) {
    if (fb < span) {
      path.depth = depth;
      path.slot[0] = kDirectBlocks + depth - 1;
      for (int level = depth; level >= 1; --level, fb /= p) path.slot[level] = uint32_t(fb % p);
      return path;
    }
    fb -= span;
  }
  return Status::error(EFBIG, "file block beyond the triple indirect block");
}

}  // namespace cardfs::fusefs
