#include "sdcard/geometry.h"

#include <algorithm>
#include <array>
#include <string>

namespace cardfs::sdcard {
namespace {

constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * KiB;
constexpr uint64_t GiB = 1024 * MiB;
// SDXC's upper bound; it also keeps every page number within 32 bits.
constexpr uint64_t kMaxCapacity = 2048 * GiB;

// SD Physical Layer Specification, SD Status AU_SIZE field (4 bits).
constexpr std::array<uint64_t, 16> kAuSizes = {
    0,       16 * KiB, 32 * KiB, 64 * KiB,  128 * KiB, 256 * KiB, 512 * KiB, 1 * MiB,
    2 * MiB, 4 * MiB,  8 * MiB,  12 * MiB,  16 * MiB,  24 * MiB,  32 * MiB,  64 * MiB};

// The SD specification measures application-class random IOPS (A1, A2)
// inside a 1 GB test area of a card written full beforehand.
constexpr uint64_t kAppTestAreaBytes = 1 * GiB;

uint32_t spare_aus_for(const Profile& p, uint32_t user_aus) {
  // Block FTL: one log per open AU, one merge target, one in the erase
  // queue, plus ~1.5 %. Page FTL: ~12 %, and at least 3/4 of the
  // application test area (or of the card, if smaller): random writes
  // spread over that area on a full card then cost greedy GC about one
  // page copy per page written, which keeps A1 and A2 above their
  // minimums (docs/sdcard.md "Application classes").
  if (p.ftl == FtlKind::kBlock) return p.open_aus + 2 + user_aus / 64;
  const uint32_t area_aus = uint32_t(std::min<uint64_t>(user_aus, kAppTestAreaBytes / p.au_bytes));
  return std::max<uint32_t>({4, user_aus / 8, area_aus * 3 / 4}) + 2;
}

}  // namespace

uint8_t au_size_code(uint64_t au_bytes) {
  for (size_t i = 1; i < kAuSizes.size(); ++i)
    if (kAuSizes[i] == au_bytes) return uint8_t(i);
  return 0;
}

uint64_t au_bytes_from_code(uint8_t code) { return code < kAuSizes.size() ? kAuSizes[code] : 0; }

uint64_t max_au_bytes(uint64_t capacity_bytes) {
  return capacity_bytes > 32 * GiB ? 64 * MiB : 4 * MiB;
}

Result<Geometry> make_geometry(const Profile& p, uint64_t size_bytes) {
  const uint64_t au = p.au_bytes;
  if (au_size_code(au) == 0)
    return Status::error(EINVAL, "profile AU size " + std::to_string(au) + " has no AU_SIZE code");
  if (size_bytes == 0 || size_bytes % au != 0)
    return Status::error(EINVAL, "size " + std::to_string(size_bytes) +
                                     " is not a positive multiple of the AU (" +
                                     std::to_string(au) + " bytes)");
  if (size_bytes > kMaxCapacity)
    return Status::error(EINVAL, "size " + std::to_string(size_bytes) + " exceeds 2 TiB (SDXC)");
  if (au > max_au_bytes(size_bytes))
    return Status::error(EINVAL, "AU of " + std::to_string(au) +
                                     " bytes is larger than the SD specification allows at this capacity");
  Geometry g;
  g.page_bytes = p.page_bytes;
  g.pages_per_au = uint32_t(au / p.page_bytes);
  g.erase_block_bytes = p.erase_block_bytes;
  g.user_aus = uint32_t(size_bytes / au);
  g.spare_aus = spare_aus_for(p, g.user_aus);
  CARDFS_RETURN_IF_ERROR(check_geometry(g));
  return g;
}

Status check_geometry(const Geometry& g) {
  auto bad = [](const std::string& what) { return Status::error(EINVAL, "bad geometry: " + what); };
  if (g.page_bytes < 4 * KiB || g.page_bytes > 64 * KiB || g.page_bytes % kSectorBytes != 0 ||
      (g.page_bytes & (g.page_bytes - 1)) != 0)
    return bad("page size " + std::to_string(g.page_bytes));
  if (g.pages_per_au == 0 || au_size_code(g.au_bytes()) == 0)
    return bad("AU of " + std::to_string(g.pages_per_au) + " pages");
  if (g.erase_block_bytes < g.page_bytes || g.erase_block_bytes > g.au_bytes() ||
      g.au_bytes() % g.erase_block_bytes != 0)
    return bad("erase block size " + std::to_string(g.erase_block_bytes));
  if (g.user_aus == 0 || g.user_bytes() > kMaxCapacity)
    return bad("user AU count " + std::to_string(g.user_aus));
  if (g.spare_aus < 3 || g.spare_aus > g.user_aus + 64)
    return bad("spare AU count " + std::to_string(g.spare_aus));
  return Status::ok();
}

}  // namespace cardfs::sdcard
