// ImageStore's clean map (image version 5): what a clean close leaves so
// that the next open needs no power-on scan.
//
// The scan reads every page's OOB record (137 MiB on a 64 GiB card, 3 s
// of a mount with cold host caches) to find which copy of each logical
// page is valid and where its data is. After a clean close nothing is
// newer than the checkpoint, so that is known at close: the FTL's holder
// of each physical page (erased, stale, or the valid copy of a logical
// page) and the store's data name of it (its own units, a slot, a unit
// list). A clean open reads the newer checkpoint, this map and the erase
// table, and the unit lists the map names.
//
// It holds only with the checkpoint of its generation on an image marked
// clean: a read-write open marks the image not clean (synced when
// durable) before anything else changes, so after a crash or a power cut
// the open scans exactly as before. A durable close syncs the map before
// the header says clean; a map damaged, of another generation, or not
// fitting the checkpoint is not used (logged) and the open scans.
#include <algorithm>
#include <array>
#include <bit>

#include "base/coding.h"
#include "base/log.h"
#include "sdcard/image_store.h"

namespace cardfs::sdcard {

std::optional<uint32_t> ImageStore::data_name(uint64_t pp) const {
  if (slots_.erased(pp)) return CleanMap::kOwnData;
  const uint32_t slot = slots_.page_slot(pp);
  if (slot == pp) return CleanMap::kOwnData;
  if (slot != DataSlots::kNone) return CleanMap::slot_data(slot);
  const uint32_t list = slots_.list_of(pp);
  if (list != DataSlots::kNone) return CleanMap::list_data(list);
  return std::nullopt;
}

// Encoded from the FTL's holders as they are (its array keeps them as the
// map does) and the data names of the pages not erased, computed into an
// array of zero pages: a card mostly erased touches little of either. The
// store's erased pages are the FTL's: those the FTL holds are named, and
// there are as many of them (DataSlots::named_pages).
Status ImageStore::write_clean_map(uint64_t generation, std::span<const uint32_t> holders) {
  if (layout_.clean_map_offset == 0 || !indirect_) return Status::ok();
  const uint64_t n = geometry_.physical_pages();
  auto unnamed = [&](uint64_t pp) {
    // Not expected; the map then stays of an older generation, and the
    // next open scans.
    logger("sdcard")->warn("{}: physical page {} cannot be named in the clean map; the next open scans", name(), pp);
    return Status::ok();
  };
  if (holders.size() != n) return unnamed(std::min<uint64_t>(holders.size(), n));
  ZeroedArray names(n);
  uint64_t held = 0;
  for (uint64_t pp = 0; pp < n; ++pp) {
    if (holders[pp] == 0) continue;  // erased
    const std::optional<uint32_t> name = data_name(pp);
    if (!name || slots_.erased(pp)) return unnamed(pp);
    if (*name != CleanMap::kOwnData) names[pp] = *name;
    ++held;
  }
  if (held != slots_.named_pages()) return unnamed(n);
  std::vector<std::byte> swapped;  // a big-endian host's little-endian copy
  RegionPiece holder_bytes{reinterpret_cast<const std::byte*>(holders.data()), n * 4};
  RegionPiece name_bytes{reinterpret_cast<const std::byte*>(names.data()), n * 4};
  if constexpr (std::endian::native != std::endian::little) {
    swapped.resize(n * 8);
    for (uint64_t pp = 0; pp < n; ++pp) {
      put_u32(swapped.data() + pp * 4, holders[pp]);
      put_u32(swapped.data() + (n + pp) * 4, names[pp]);
    }
    holder_bytes.data = swapped.data();
    name_bytes.data = swapped.data() + n * 4;
  }
  const RegionPiece pieces[] = {holder_bytes, name_bytes};
  return write_region(layout_.clean_map_offset, pieces,
                      [&](uint32_t crc, std::span<std::byte, kCheckpointHeaderBytes> out) {
                        encode_clean_map_header(generation, n, crc, out);
                      },
                      clean_map_sums_);
}

std::string ImageStore::misfit(const ZeroedArray& holders, const ZeroedArray& names, std::span<const Extent> pages,
                               const Checkpoint& ckpt) const {
  const uint64_t n = holders.size();
  std::vector<bool> held(ckpt.page_seq.size(), false);
  for (const Extent& run : pages) {
    for (uint64_t pp = run.offset; pp < run.offset + run.length; ++pp) {
      const uint32_t v = holders[pp], d = names[pp];
      if (v == 0) {  // erased
        if (d != CleanMap::kOwnData) return "an erased page names data";
        continue;
      }
      const uint32_t h = CleanMap::decode_holder(v);
      if (h != CleanMap::kStale) {
        if (h >= held.size()) return "the clean map names a page beyond the card";
        if (held[h] || ckpt.page_seq[h] == 0) return "logical page " + std::to_string(h) + " held twice or not checkpointed";
        held[h] = true;
      }
      if (d == CleanMap::kOwnData) continue;
      const bool list = (d & 1) != 0;
      const uint64_t index = list ? d >> 1 : (d >> 1) - 1;  // a unit list, or a slot
      if (index >= n) return "a data name beyond the data area";
    }
  }
  return "";
}

Result<bool> ImageStore::read_erase_table(std::vector<uint32_t>& generations) {
  const uint32_t aus = geometry_.physical_aus();
  std::vector<std::byte> table(uint64_t(aus) * kEraseEntryBytes);
  CARDFS_RETURN_IF_ERROR(medium_->read_at(layout_.erase_table_offset, table));
  generations.assign(aus, 0);
  for (uint32_t au = 0; au < aus; ++au)
    if (decode_erase_entry(au, table.data() + uint64_t(au) * kEraseEntryBytes, &generations[au]) == OobState::kCorrupt)
      return false;  // the scan recovers it from the AU's records
  return true;
}

// The map is read only where the image holds data (read_region): on a
// card mostly erased, its holders and names are mostly holes, and the
// pages they would describe are erased. `pages` are the physical pages
// whose holder or name was read; every loop below is over them only.
Result<bool> ImageStore::load_clean_map(const Checkpoint& ckpt, ZeroedArray& holders, std::vector<Extent>& pages) {
  auto unused = [&](const std::string& why) {
    logger("sdcard")->warn("{}: not using the clean map ({}); scanning", name(), why);
    return false;
  };
  std::array<std::byte, kCheckpointHeaderBytes> head;
  CARDFS_RETURN_IF_ERROR(medium_->read_at(layout_.clean_map_offset, head));
  if (Result<CleanMap> h = decode_clean_map_header(head, geometry_); !h.is_ok()) {
    // None yet: an image upgraded to version 5 and not closed since.
    if (h.status().code() == ENOENT) return false;
    return unused(h.status().message());
  } else if (h->generation != ckpt.generation) {
    return unused("it goes with checkpoint " + std::to_string(h->generation) + ", not " +
                  std::to_string(ckpt.generation));
  }
  const uint64_t n = geometry_.physical_pages();
  ZeroedArray held(n), names(n);
  const RegionBuffer into[] = {{head.data(), head.size()},
                               {reinterpret_cast<std::byte*>(held.data()), n * 4},
                               {reinterpret_cast<std::byte*>(names.data()), n * 4}};
  std::vector<uint64_t> sums;
  CARDFS_ASSIGN_OR_RETURN(RegionRead read, read_region(layout_.clean_map_offset, into, sums));
  Result<CleanMap> m = decode_clean_map_header(head, geometry_);
  if (!m.is_ok()) return unused(m.status().message());  // changed since: not ours to use
  if (read.crc != m->payload_crc) return unused("clean map checksum mismatch");
  pages = read_pages(read.data, n);
  if constexpr (std::endian::native != std::endian::little) {
    for (const Extent& run : pages)
      for (uint64_t pp = run.offset; pp < run.offset + run.length; ++pp) {
        held[pp] = get_u32(reinterpret_cast<const std::byte*>(&held[pp]));
        names[pp] = get_u32(reinterpret_cast<const std::byte*>(&names[pp]));
      }
  }
  if (std::string why = misfit(held, names, pages, ckpt); !why.empty()) return unused(why);
  std::vector<uint32_t> generations;
  CARDFS_ASSIGN_OR_RETURN(bool table_ok, read_erase_table(generations));
  if (!table_ok) return unused("an erase table entry is damaged");
  const uint32_t upp = slots_.units_per_page();
  std::vector<uint32_t> lists;
  for (const Extent& run : pages)
    for (uint64_t pp = run.offset; pp < run.offset + run.length; ++pp)
      if (held[pp] != 0 && (names[pp] & 1) != 0) lists.push_back(names[pp] >> 1);
  std::sort(lists.begin(), lists.end());
  lists.erase(std::unique(lists.begin(), lists.end()), lists.end());
  std::vector<uint32_t> listed;
  std::vector<bool> ok;
  CARDFS_RETURN_IF_ERROR(read_unit_lists(lists, listed, ok));
  if (std::find(ok.begin(), ok.end(), false) != ok.end()) return unused("a unit list names a unit beyond the data area");
  // Everything checked: the store's maps from here on.
  erase_generations_ = std::move(generations);
  std::vector<uint32_t> units(upp);
  for (const Extent& run : pages) {
    for (uint64_t pp = run.offset; pp < run.offset + run.length; ++pp) {
      const uint32_t v = held[pp], d = names[pp];
      if (v == 0) continue;  // erased
      if ((d & 1) != 0) {
        const size_t i = std::lower_bound(lists.begin(), lists.end(), d >> 1) - lists.begin();
        slots_.assign(pp, std::span(listed).subspan(i * upp, upp));
        slots_.set_list(pp, d >> 1);
      } else {
        const uint64_t slot = d == CleanMap::kOwnData ? pp : (d >> 1) - 1;
        for (uint32_t k = 0; k < upp; ++k) units[k] = uint32_t(slot * upp + k);
        slots_.assign(pp, units);
      }
      if (v != 1) set_latest(CleanMap::decode_holder(v), pp);
    }
  }
  clean_map_sums_ = std::move(sums);
  holders = std::move(held);
  return true;
}

// The physical pages whose holder or name lies in the payload ranges
// `read` (bytes: n holders of 4 bytes, then n names), ascending, joined.
std::vector<Extent> ImageStore::read_pages(std::span<const Extent> read, uint64_t n) {
  std::vector<Extent> pages;
  for (const Extent& r : read) {
    for (const uint64_t base : {uint64_t(0), n * 4}) {
      const uint64_t from = std::max(r.offset, base), to = std::min(r.offset + r.length, base + n * 4);
      if (from < to) pages.push_back({(from - base) / 4, (to - base + 3) / 4 - (from - base) / 4});
    }
  }
  std::sort(pages.begin(), pages.end(), [](const Extent& a, const Extent& b) { return a.offset < b.offset; });
  std::vector<Extent> joined;
  for (const Extent& p : pages) {
    if (!joined.empty() && joined.back().offset + joined.back().length >= p.offset)
      joined.back().length = std::max(joined.back().length, p.offset + p.length - joined.back().offset);
    else
      joined.push_back(p);
  }
  return joined;
}

}  // namespace cardfs::sdcard
