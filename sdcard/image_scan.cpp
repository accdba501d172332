// ImageStore's power-on scan: every page's OOB record, the erase table
// (version 4), the data units each record names, and the data CRC of every
// page programmed after the checkpoint (a torn page fails it).
#include <algorithm>
#include <unordered_map>

#include "base/coding.h"
#include "sdcard/image_store.h"
#include "sdcard/page_crc.h"

namespace cardfs::sdcard {
namespace {

constexpr uint64_t kScanChunk = 4096;  // OOB records (128 KiB) per read of the power-on scan
// Pages whose data is read per batch when verifying programs newer than
// the checkpoint.
constexpr size_t kVerifyChunk = 64;

}  // namespace

Result<std::vector<ScannedPage>> ImageStore::scan(const Checkpoint* ckpt, const ScanProgress& progress) {
  const uint64_t checkpoint_seq = ckpt ? ckpt->seq : 0;
  const uint64_t n = geometry_.physical_pages();
  std::vector<std::byte> oob(kScanChunk * kOobBytes);
  std::vector<ScannedPage> out(n);
  for (uint64_t first = 0; first < n; first += kScanChunk) {
    // The records are read a chunk at a time, so a large card's scan can
    // report its progress (a 64 GiB card has 4 Mi records, 128 MiB).
    if (progress) progress(first, n);
    const uint64_t count = std::min<uint64_t>(kScanChunk, n - first);
    CARDFS_RETURN_IF_ERROR(
        medium_->read_at(layout_.oob_offset + first * kOobBytes, std::span(oob).first(count * kOobBytes)));
    for (uint64_t i = 0; i < count; ++i) out[first + i].state = decode_oob(oob.data() + i * kOobBytes, &out[first + i].oob);
  }
  std::vector<std::optional<MergeEntry>> merges;
  if (merges_) {
    CARDFS_ASSIGN_OR_RETURN(merges, read_merge_table());
  }
  if (erase_table_) CARDFS_RETURN_IF_ERROR(apply_erase_table(out, merges));
  if (merges_) apply_merge_entries(merges, out, ckpt);
  CARDFS_RETURN_IF_ERROR(assign_scanned_units(out));
  CARDFS_RETURN_IF_ERROR(verify_scanned(out, checkpoint_seq));
  // The copy a partly rewritten page takes its other units from: the
  // newest valid one, as the FTL's map chooses.
  std::vector<uint64_t> newest(latest_.size(), 0);
  for (uint64_t pp = 0; pp < n; ++pp) {
    const ScannedPage& s = out[pp];
    if (s.state != OobState::kValid || s.oob.logical_page >= latest_.size()) continue;
    if (s.oob.seq > newest[s.oob.logical_page]) {
      newest[s.oob.logical_page] = s.oob.seq;
      set_latest(s.oob.logical_page, pp);
    }
  }
  return out;
}

// Where each page's data is: the slot its record names, the units its
// unit list names, else its own (a version 2 record, or a damaged one: its
// data is unreadable anyway). The lists are read a table chunk at a time,
// only the chunks some record names.
Status ImageStore::assign_scanned_units(std::vector<ScannedPage>& scan) {
  const uint64_t n = scan.size();
  const uint32_t upp = slots_.units_per_page();
  std::vector<uint32_t> units(upp);
  std::vector<std::pair<uint32_t, uint64_t>> listed;  // (list, page)
  for (uint64_t pp = 0; pp < n; ++pp) {
    ScannedPage& s = scan[pp];
    if (s.state == OobState::kErased) continue;
    uint64_t slot = pp;
    if (s.state == OobState::kValid && s.oob.has_slot) {
      if (s.oob.slot < n)
        slot = s.oob.slot;
      else
        s.state = OobState::kCorrupt;  // names a slot beyond the data area
    }
    if (s.state == OobState::kValid && s.oob.has_units) {
      if (s.oob.slot < n && layout_.unit_table_offset != 0) {
        listed.push_back({s.oob.slot, pp});
        continue;
      }
      s.state = OobState::kCorrupt;  // names a list beyond the table
    }
    for (uint32_t k = 0; k < upp; ++k) units[k] = uint32_t(slot * upp + k);
    slots_.assign(pp, units);
  }
  std::sort(listed.begin(), listed.end());
  std::vector<uint32_t> lists;
  for (auto [list, pp] : listed)
    if (lists.empty() || lists.back() != list) lists.push_back(list);
  std::vector<uint32_t> listed_units;
  std::vector<bool> ok;
  CARDFS_RETURN_IF_ERROR(read_unit_lists(lists, listed_units, ok));
  size_t i = 0;
  for (auto [list, pp] : listed) {
    while (lists[i] != list) ++i;
    if (!ok[i]) {
      scan[pp].state = OobState::kCorrupt;  // names a unit beyond the data area
      for (uint32_t k = 0; k < upp; ++k) units[k] = uint32_t(pp * upp + k);
      slots_.assign(pp, units);
      continue;
    }
    slots_.assign(pp, std::span(listed_units).subspan(i * upp, upp));
    slots_.set_list(pp, list);
  }
  return merges_ ? load_merged_crcs(scan) : Status::ok();
}

Status ImageStore::read_unit_lists(std::span<const uint32_t> lists, std::vector<uint32_t>& units,
                                   std::vector<bool>& ok) {
  const uint64_t n = geometry_.physical_pages();
  const uint32_t upp = slots_.units_per_page();
  units.resize(lists.size() * upp);
  ok.assign(lists.size(), true);
  std::vector<std::byte> table(kScanChunk * upp * 4);
  uint64_t chunk = ~uint64_t(0);
  for (size_t i = 0; i < lists.size(); ++i) {
    const uint32_t list = lists[i];
    if (list / kScanChunk != chunk) {
      chunk = list / kScanChunk;
      const uint64_t count = std::min<uint64_t>(kScanChunk, n - chunk * kScanChunk);
      CARDFS_RETURN_IF_ERROR(medium_->read_at(layout_.unit_table_offset + chunk * kScanChunk * upp * 4,
                                              std::span(table).first(count * upp * 4)));
    }
    for (uint32_t k = 0; k < upp; ++k) {
      const uint32_t u = get_u32(table.data() + ((list - chunk * kScanChunk) * upp + k) * 4);
      units[i * upp + k] = u;
      if (u >= slots_.units() && u != DataSlots::kZero) ok[i] = false;
    }
  }
  return Status::ok();
}

Status ImageStore::verify_scanned(std::vector<ScannedPage>& scan, uint64_t checkpoint_seq) {
  // A page moved from an unreadable one is known bad, not torn: it stays
  // mapped (and unreadable) rather than letting an older copy return. A
  // page of a merge entry is checked only if its data name was new since
  // the checkpoint before the merge, and once per name (moves share it).
  std::vector<uint64_t> unverified;
  std::unordered_map<uint32_t, uint64_t> checked_name;  // data name -> the merge page checked for it
  std::vector<std::pair<uint64_t, uint64_t>> same;      // (merge page, the page checked for its name)
  for (uint64_t pp = 0; pp < scan.size(); ++pp) {
    const ScannedPage& s = scan[pp];
    if (s.state != OobState::kValid || s.oob.seq <= checkpoint_seq || s.oob.uncorrectable || !s.check) continue;
    if (s.merged) {
      auto [it, first] = checked_name.try_emplace(crc_name(pp), pp);
      if (!first && scan[it->second].oob.data_crc == s.oob.data_crc) {
        same.push_back({pp, it->second});
        continue;
      }
    }
    unverified.push_back(pp);
  }
  const uint32_t page = geometry_.page_bytes;
  std::vector<std::byte> data(kVerifyChunk * page);
  for (size_t first = 0; first < unverified.size(); first += kVerifyChunk) {
    const size_t count = std::min(kVerifyChunk, unverified.size() - first);
    read_plan_.clear();
    for (size_t i = 0; i < count; ++i) plan_page_read(read_plan_, unverified[first + i], data.data() + i * page, page);
    CARDFS_RETURN_IF_ERROR(medium_->read(read_plan_.ops()));
    for (size_t i = 0; i < count; ++i) {
      ScannedPage& s = scan[unverified[first + i]];
      if (page_crc(std::span(data).subspan(i * page, page)) != s.oob.data_crc) {
        s.state = OobState::kCorrupt;
        s.torn = true;
      }
    }
  }
  for (auto [pp, checked] : same) {
    if (scan[checked].state == OobState::kValid) continue;
    scan[pp].state = OobState::kCorrupt;
    scan[pp].torn = true;
  }
  for (uint64_t pp = 0; merges_ && pp < scan.size(); ++pp)
    if (scan[pp].state != OobState::kValid) merged_[pp] = false;
  return Status::ok();
}

}  // namespace cardfs::sdcard
