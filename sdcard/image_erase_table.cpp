// ImageStore's erase table (image version 4) and the upgrades to the
// current version.
//
// Zeroing an AU's OOB records at every erase (8 KiB for a 4 MiB AU of
// 16 KiB pages) was about a sixth of what the image took per byte written
// under random 4 KiB writes with fsync (issue 23). Now an erase writes one
// 8-byte entry: the AU's erase generation, one more than before. Every
// record carries the generation of its AU when it was written; one of an
// older generation is erased, whatever else it says. The store alone
// counts generations (the FTL's erase counts are the model's, and may be
// rebuilt lower after a power cut), so a record it writes always carries
// its AU's current generation.
//
// Power cuts and host crashes: an entry is written by itself, before any
// later program into the AU. If it is lost (a host crash without
// fdatasync, or a table block damaged), records the AU got after the erase
// carry the newer generation and the scan takes the AU's generation from
// them; with none, the AU's old records read as valid again, exactly as
// when a zeroing write was lost: they are older than the copies the card
// made of them (an AU is erased only once its pages were moved, rewritten
// or trimmed, and trims are checkpointed before erases), so the newest
// copy of each page wins as before.
#include <algorithm>
#include <array>

#include "base/log.h"
#include "sdcard/image_store.h"

namespace cardfs::sdcard {
namespace {

// How far generation b is ahead of a (modulo the record's field), or 0.
uint32_t ahead(uint32_t a, uint32_t b) {
  const uint32_t d = (b - a) & kGenerationMask;
  return d != 0 && d <= kGenerationMask / 2 ? d : 0;
}

}  // namespace

Status ImageStore::apply_erase_table(std::vector<ScannedPage>& scan,
                                     const std::vector<std::optional<MergeEntry>>& merges) {
  const uint32_t aus = geometry_.physical_aus();
  std::vector<std::byte> table(uint64_t(aus) * kEraseEntryBytes);
  CARDFS_RETURN_IF_ERROR(medium_->read_at(layout_.erase_table_offset, table));
  uint32_t damaged = 0;
  for (uint32_t au = 0; au < aus; ++au) {
    uint32_t gen = 0;
    const bool known = decode_erase_entry(au, table.data() + uint64_t(au) * kEraseEntryBytes, &gen) != OobState::kCorrupt;
    if (!known) ++damaged;
    // A record of a newer generation than the table's: the entry's write
    // was lost; without a valid entry, the newest generation its records name.
    const uint64_t first = uint64_t(au) * geometry_.pages_per_au;
    uint32_t newest = known ? gen : 0, lead = 0;
    bool seen = known;
    auto saw = [&](uint32_t g) {
      if (!seen) {
        newest = g;
        seen = true;
      }
      lead = std::max(lead, ahead(newest & kGenerationMask, g));
    };
    for (uint64_t pp = first; pp < first + geometry_.pages_per_au; ++pp)
      if (scan[pp].state == OobState::kValid) saw(scan[pp].oob.generation);
    // An AU's merge entry (version 5) is one of its records.
    if (au < merges.size() && merges[au]) saw(merges[au]->generation & kGenerationMask);
    erase_generations_[au] = newest + lead;
    for (uint64_t pp = first; pp < first + geometry_.pages_per_au; ++pp)
      if (scan[pp].state == OobState::kValid && erased_since(pp, scan[pp].oob)) scan[pp] = ScannedPage{};
  }
  if (damaged != 0)
    logger("sdcard")->warn("{}: {} erase table entries are damaged; their AUs' generations were taken from their "
                           "records", name(), damaged);
  return Status::ok();
}

Status ImageStore::erase_by_generation(uint32_t physical_au) {
  std::array<std::byte, kEraseEntryBytes> entry;
  encode_erase_entry(physical_au, ++erase_generations_[physical_au], entry.data());
  return write_counted_at(layout_.erase_table_offset + uint64_t(physical_au) * kEraseEntryBytes, entry);
}

bool ImageStore::upgrades() const {
  return version_ >= kImageVersionNoSlots && version_ < kImageVersion && indirect_;
}

// A header older than the file: the file was grown for a later version
// (this cardfs's, or version 4 by one before it) and the headers never
// written.
bool ImageStore::upgrade_interrupted(uint64_t size) const {
  if (!upgrades()) return false;
  for (uint32_t v = version_ + 1; v <= kImageVersion; ++v)
    if (size == layout_for(geometry_, v).file_bytes) return true;
  return false;
}

// Each older version's backup header lies where a later version's tables
// start: those within the file are zeroed first (a crash there leaves an
// image without its backup, which opens and `card repair` rewrites; the
// tables read all-zero as none of them written), then the file grows,
// then the headers are written (by write_header, with the new version).
// The new tables are zeros: erase generation 0, which the old records
// carry, and no clean map (the next clean close writes one).
Status ImageStore::upgrade() {
  const ImageLayout next = layout_for(geometry_, kImageVersion);
  CARDFS_ASSIGN_OR_RETURN(uint64_t size, medium_->size());
  if (size != next.file_bytes) {
    const std::vector<std::byte> zeros(kHeaderBytes);
    for (uint32_t v = version_; v < kImageVersion; ++v)
      if (const uint64_t at = layout_for(geometry_, v).backup_header_offset; at + kHeaderBytes <= size)
        CARDFS_RETURN_IF_ERROR(write_counted_at(at, zeros));
    CARDFS_RETURN_IF_ERROR(medium_->set_size(next.file_bytes));
  }
  logger("sdcard")->info("{}: image version {} upgraded to {}", name(), version_, kImageVersion);
  if (!erase_table_) std::fill(erase_generations_.begin(), erase_generations_.end(), 0);
  // A clean map of version 5 stays where it was (its blocks' sums as
  // known); an older image's map area is new, all zeros.
  if (version_ < kImageVersionCleanMap) clean_map_sums_ = zero_sums(clean_map_bytes(geometry_));
  // The name table is new (version 8), all zeros: no slot.
  for (std::vector<uint64_t>& sums : name_sums_) sums = zero_sums(name_region_bytes(geometry_));
  layout_ = next;
  // Version 6's merge entries and data CRCs stay (read at open: its
  // upgrade to 7 changes how new entries are written, nothing else).
  if (version_ < kImageVersionMerges) reset_merges(true);
  version_ = kImageVersion;
  erase_table_ = true;
  return Status::ok();
}

}  // namespace cardfs::sdcard
