#include "tools/fsck/card_io.h"

#include <cstring>
#include <map>

#include "sdcard/geometry.h"
#include "sdcard/profiles.h"

namespace cardfs::fsck {

namespace {
constexpr uint64_t kSector = 512;
}

uint64_t CardIo::size() const { return card_.sector_count() * kSector; }

Status CardIo::transfer(bool write, uint64_t sector, std::span<std::byte> buf) {
  iovec v{buf.data(), buf.size()};
  return write ? card_.write(sector, std::span(&v, 1), false) : card_.read(sector, std::span(&v, 1));
}

Status CardIo::read(uint64_t offset, std::span<std::byte> out) {
  CARDFS_RETURN_IF_ERROR(check_range(offset, out.size(), size()));
  const uint64_t first = offset / kSector, last = (offset + out.size() + kSector - 1) / kSector;
  std::vector<std::byte> buf((last - first) * kSector);
  CARDFS_RETURN_IF_ERROR(transfer(false, first, buf));
  std::memcpy(out.data(), buf.data() + (offset - first * kSector), out.size());
  return Status::ok();
}

Status CardIo::write(uint64_t offset, std::span<const std::byte> in) {
  if (read_only_) return Status::error(EROFS, "card opened read-only");
  CARDFS_RETURN_IF_ERROR(check_range(offset, in.size(), size()));
  const uint64_t first = offset / kSector, last = (offset + in.size() + kSector - 1) / kSector;
  std::vector<std::byte> buf((last - first) * kSector);
  if (offset % kSector || in.size() % kSector) CARDFS_RETURN_IF_ERROR(transfer(false, first, buf));
  std::memcpy(buf.data() + (offset - first * kSector), in.data(), in.size());
  return transfer(true, first, buf);
}

Result<std::vector<ImageIo::Range>> CardIo::unreadable_ranges() {
  CARDFS_ASSIGN_OR_RETURN(std::vector<uint32_t> pages, card_.unreadable_pages());
  const uint64_t page_bytes = card_.geometry().page_bytes;
  std::vector<Range> out;
  for (uint32_t lp : pages) out.push_back({lp * page_bytes, page_bytes});
  return out;
}

Status CardIo::flush() { return read_only_ ? Status::ok() : card_.flush(); }

std::vector<CardFinding> check_card(const sdcard::Card& card, bool read_only) {
  std::vector<CardFinding> problems;
  const sdcard::Geometry& g = card.geometry();
  if (Status st = sdcard::check_geometry(g); !st.is_ok())
    problems.push_back({"The card's geometry is invalid: " + st.message() + "."});
  const auto aus = card.au_states();
  if (aus.size() != g.physical_aus())
    problems.push_back({"The card reports " + std::to_string(aus.size()) + " AUs, its geometry " +
                       std::to_string(g.physical_aus()) + "."});
  std::map<int64_t, uint32_t> mapped, logs;  // logical AU -> data AU, log AU
  uint32_t open = 0;
  uint64_t valid = 0;
  for (uint32_t p = 0; p < aus.size(); ++p) {
    const sdcard::AuState& a = aus[p];
    const std::string au = "Physical AU " + std::to_string(p);
    if (a.valid_pages > g.pages_per_au)
      problems.push_back({au + " has " + std::to_string(a.valid_pages) + " valid pages, more than the " +
                         std::to_string(g.pages_per_au) + " it holds."});
    valid += a.valid_pages;
    if (std::string(a.role) == "open") ++open;
    if (a.logical_au < 0) continue;
    if (a.logical_au >= int64_t(g.user_aus))
      problems.push_back({au + " maps logical AU " + std::to_string(a.logical_au) +
                         ", past the card's " + std::to_string(g.user_aus) + "."});
    // A block FTL's logical AU has one data AU and, while written, one log
    // AU (role "open"): two of either kind is the conflict.
    auto& seen = std::string(a.role) == "open" ? logs : mapped;
    // Two data AUs after an unclean stop seen read-only: the power-on
    // merge (FlashTranslationLayer::normalize) makes them one.
    auto [it, fresh] = seen.emplace(a.logical_au, p);
    const bool recovery = &seen == &mapped && read_only && !card.opened_clean();
    if (!fresh)
      problems.push_back({"Logical AU " + std::to_string(a.logical_au) + " is mapped by physical AUs " +
                              std::to_string(it->second) + " and " + std::to_string(p) +
                              (recovery ? " (left by an unclean stop; the card's power-on recovery merges them)" : "") + ".",
                          recovery});
  }
  if (valid > g.user_pages())
    problems.push_back({"The card holds " + std::to_string(valid) + " valid pages, more than its " +
                       std::to_string(g.user_pages()) + " logical pages."});
  const uint32_t open_limit = card.profile().open_aus;
  if (open > open_limit + 1)
    problems.push_back({std::to_string(open) + " AUs are open, the profile allows " +
                       std::to_string(open_limit) + "."});
  return problems;
}

}  // namespace cardfs::fsck
