// ImageStore's merge entries and unit list CRCs (image version 5).
//
// A merge (or fold) of the block FTL moves up to a whole AU's pages, each
// to its own offset in one AU; under random 4 KiB writes with fsync that
// is about a hundred moves per 4 KiB written, and a 32-byte record per
// moved page was 0.8 image bytes per byte written (issue 23). Now the
// moves of one merge are one entry in the merge table, at its AU's place:
// the AU's erase generation, the logical AU, the first sequence number,
// which slots, and per slot the unit list of the moved page (4 bytes).
// Every unit list carries its page's data CRC in the list CRC table, so a
// list describes its data by itself, whatever happens to the page that
// wrote it: the moved pages need nothing from their sources' records,
// which are gone once a source AU is erased and programmed again.
//
// Why a crash loses nothing (docs/sdcard.md, "Merge entries"):
// - The entry is written in one batch with the lists it creates; the
//   lists it names were written earlier and are never rewritten while a
//   page that is not erased names them (DataSlots), nor are their units.
// - A source AU is erased only after the card's before-erase hook, which
//   makes everything written so far durable (durable cards): the entry is
//   on the disk before the source's erase table entry can be. A lost or
//   torn entry (its CRC) leaves its pages' sources as the newest copies.
// - A list written since the last checkpoint (`kFresh`) may not have
//   reached the disk when the entry did (no fdatasync between them), or
//   the disk may hold a stale entry of the list's earlier use: the entry
//   then carries the page's data CRC and the power-on scan checks the
//   data, as it checks a program newer than the checkpoint. A list
//   written before it (`kCovered`) was synced with the checkpoint.
// - An AU takes one entry per erase generation; a later merge into the
//   same generation (not made by the FTL) writes records.
#include <algorithm>
#include <unordered_map>

#include "base/log.h"
#include "sdcard/image_store.h"

namespace cardfs::sdcard {
namespace {

// Fewer moves than this are cheaper as records (an entry's header and
// bitmaps are about three records' worth).
constexpr size_t kMinMergeEntryPages = 4;
constexpr size_t kMergeReadChunk = 256;  // entries per read of the table

}  // namespace

void ImageStore::reset_merges(bool on) {
  merges_ = on;
  const uint64_t names = on ? 2 * geometry_.physical_pages() : 0;
  const uint32_t aus = on ? geometry_.physical_aus() : 0;
  names_.reset(names);  // all CRC 0, kNoCrc
  fresh_names_.clear();
  merged_.assign(on ? geometry_.physical_pages() : 0, false);
  merge_written_.assign(aus, false);
  merge_lau_.assign(aus, 0);
}

void ImageStore::name_written(uint32_t name, uint32_t data_crc) {
  names_[name].crc = data_crc;
  if (names_[name].state != kFresh) fresh_names_.push_back(name);
  names_[name].state = kFresh;
}

void ImageStore::forget_merges(uint32_t physical_au) {
  const uint64_t first = uint64_t(physical_au) * geometry_.pages_per_au;
  for (uint64_t pp = first; pp < first + geometry_.pages_per_au; ++pp) merged_[pp] = false;
  merge_written_[physical_au] = false;
}

// Called after the batch's CRC entries are planned: every page here has a
// name with a CRC. batch_names_ holds the pages' names (write_copies).
size_t ImageStore::merge_run(std::span<const PageWrite> q) const {
  if (!merges_ || q.empty()) return 0;
  const uint32_t ppa = geometry_.pages_per_au;
  const uint64_t au = q[0].page / ppa;
  const uint32_t lau = q[0].oob.logical_page / ppa;
  if (merge_written_[au]) return 0;
  size_t n = 0;
  for (; n < q.size(); ++n) {
    const PageWrite& w = q[n];
    const uint32_t name = batch_names_[n];
    const bool fits = w.bytes == geometry_.page_bytes && !source_bad_[n] && w.page / ppa == au &&
                      w.oob.logical_page / ppa == lau && w.page % ppa == w.oob.logical_page % ppa &&
                      w.oob.seq == q[0].oob.seq + n && (n == 0 || w.page > q[n - 1].page);
    if (!fits || name == DataSlots::kNone || names_[name].state == kNoCrc) break;
  }
  return n >= kMinMergeEntryPages ? n : 0;
}

void ImageStore::plan_merge_entry(std::span<const PageWrite> q, size_t n, IoPlan& plan) {
  const uint32_t ppa = geometry_.pages_per_au;
  const uint32_t au = uint32_t(q[0].page / ppa);
  MergeEntry m;
  m.au = au;
  m.generation = generation_of_page(q[0].page);
  m.erase_count = q[0].oob.erase_count;
  m.base_seq = q[0].oob.seq;
  m.lau = q[0].oob.logical_page / ppa;
  m.slots.reserve(n);
  m.names.reserve(n);
  m.verify.reserve(n);
  m.crcs.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t name = batch_names_[i];
    m.slots.push_back(uint32_t(q[i].page % ppa));
    m.names.push_back(name);
    m.verify.push_back(names_[name].state == kFresh);
    m.crcs.push_back(names_[name].crc);
    merged_[q[i].page] = true;
  }
  merge_written_[au] = true;
  merge_lau_[au] = m.lau;
  predict_names(m);
  const size_t bytes = merge_entry_bytes(geometry_);
  merge_scratch_.resize(bytes);
  const size_t used = encode_merge_entry(m, geometry_, merge_scratch_.data(), version_ >= kImageVersionPackedMerges);
  plan.add(layout_.merge_table_offset + uint64_t(au) * bytes, merge_scratch_.data(), used);
}

// The names the newest name slot gives become kUnlisted, if that makes
// the entry smaller (it adds 12 bytes and a rank per listed page).
void ImageStore::predict_names(MergeEntry& m) {
  if (!names_known_ || version_ < kImageVersionNameTable || m.base_seq < names_next_seq_ ||
      m.base_seq - names_next_seq_ > UINT32_MAX)
    return;
  // In place, the names kept to put back (a copy of the whole entry per
  // merge was four allocations).
  const bool was_predicted = m.predicted;
  const uint32_t was_generation = m.slot_generation;
  const uint64_t was_next_seq = m.slot_next_seq;
  const size_t plain = merge_entry_used_bytes(m, geometry_, true);
  listed_names_.assign(m.names.begin(), m.names.end());
  m.predicted = true;
  m.slot_generation = uint32_t(names_generation_);
  m.slot_next_seq = names_next_seq_;
  for (size_t i = 0; i < m.names.size(); ++i)
    if (predicted_name(uint64_t(m.lau) * geometry_.pages_per_au + m.slots[i]) == m.names[i])
      m.names[i] = MergeEntry::kUnlisted;
  const size_t used = merge_entry_used_bytes(m, geometry_, true);
  if (used <= merge_entry_bytes(geometry_) && used < plain) return;
  m.names.assign(listed_names_.begin(), listed_names_.end());
  m.predicted = was_predicted;
  m.slot_generation = was_generation;
  m.slot_next_seq = was_next_seq;
}

OobRecord ImageStore::merged_record(uint64_t pp) const {
  const uint32_t ppa = geometry_.pages_per_au;
  OobRecord r;
  r.logical_page = merge_lau_[pp / ppa] * ppa + uint32_t(pp % ppa);
  r.seq = 1;  // not compared by a read's check
  r.data_crc = names_[crc_name(pp)].crc;
  r.generation = generation_of_page(pp);
  name_data(pp, r);
  return r;
}

Result<std::vector<std::optional<MergeEntry>>> ImageStore::read_merge_table() {
  const uint32_t aus = geometry_.physical_aus();
  const size_t bytes = merge_entry_bytes(geometry_);
  std::vector<std::optional<MergeEntry>> out(aus);
  std::vector<std::byte> chunk(kMergeReadChunk * bytes);
  for (uint32_t first = 0; first < aus; first += kMergeReadChunk) {
    const uint32_t count = std::min<uint32_t>(kMergeReadChunk, aus - first);
    CARDFS_RETURN_IF_ERROR(medium_->read_at(layout_.merge_table_offset + uint64_t(first) * bytes,
                                            std::span(chunk).first(count * bytes)));
    // A torn or damaged entry counts as never written: its moves are lost
    // and their sources, not erased before the entry was durable, remain.
    for (uint32_t i = 0; i < count; ++i) {
      MergeEntry m;
      if (decode_merge_entry(first + i, std::span(chunk).subspan(i * bytes, bytes), geometry_, &m) == OobState::kValid)
        out[first + i] = std::move(m);
    }
  }
  return out;
}

MergeEntry* ImageStore::adopt_merge_entry(std::optional<MergeEntry>& m, uint32_t au) {
  if (!m || (m->generation & kGenerationMask) != (erase_generations_[au] & kGenerationMask)) return nullptr;
  merge_written_[au] = true;
  merge_lau_[au] = m->lau;
  return &*m;
}

void ImageStore::apply_merge_entries(std::vector<std::optional<MergeEntry>>& entries, std::vector<ScannedPage>& scan,
                                     const Checkpoint* ckpt) {
  const uint32_t ppa = geometry_.pages_per_au;
  const uint64_t pages = geometry_.physical_pages();
  std::vector<NameSlot> slots;
  bool slots_read = false;
  for (uint32_t au = 0; au < entries.size(); ++au) {
    if (entries[au] && entries[au]->predicted && !slots_read) {
      if (Status st = load_name_slots(slots); !st.is_ok())
        logger("sdcard")->warn("{}: name slots not read: {}", name(), st.message());
      slots_read = true;
    }
    MergeEntry* m = adopt_merge_entry(entries[au], au);
    if (!m) continue;
    const bool whole = resolve_names(*m, slots, ckpt);
    for (size_t i = 0; i < m->slots.size(); ++i) {
      const uint64_t pp = uint64_t(au) * ppa + m->slots[i];
      // A merge moves into erased slots only: a valid record there would
      // be of a page programmed since (not made by this FTL) and wins; a
      // damaged one is left over from an earlier generation (a write torn
      // by a crash, never overwritten since: merge pages write no records).
      if (scan[pp].state == OobState::kValid) continue;
      ScannedPage& s = scan[pp];
      if (!whole || m->names[i] == MergeEntry::kUnlisted) {
        // An entry whose name slot is lost (written after the last sync:
        // its sources remain), or a page stale at the checkpoint: as a
        // torn page, its sequence number used.
        s.state = OobState::kCorrupt;
        s.torn = true;
        s.oob = OobRecord{};
        s.oob.seq = m->base_seq + i;
        continue;
      }
      s.state = OobState::kValid;
      s.oob = OobRecord{};
      s.oob.logical_page = m->lau * ppa + m->slots[i];
      s.oob.seq = m->base_seq + i;
      s.oob.erase_count = m->erase_count;
      s.oob.data_crc = m->crcs[i];
      s.oob.has_slot = m->names[i] >= pages;
      s.oob.has_units = !s.oob.has_slot;
      s.oob.slot = uint32_t(s.oob.has_slot ? m->names[i] - pages : m->names[i]);
      s.oob.generation = m->generation & kGenerationMask;
      s.merged = true;
      s.check = m->verify[i];
      merged_[pp] = true;
    }
  }
}

// Each merge page's name's CRC entry, read a table chunk at a time. A page
// whose name has no valid entry, or not the CRC its merge entry gives
// (checked pages), lost it in a crash: dropped as a torn page is.
Status ImageStore::load_merged_crcs(std::vector<ScannedPage>& scan) {
  std::vector<NamedPage> named;
  for (uint64_t pp = 0; pp < scan.size(); ++pp) {
    const ScannedPage& s = scan[pp];
    if (s.merged && s.state == OobState::kValid) named.push_back({crc_name(pp), pp, s.oob.data_crc, s.check, false});
  }
  CARDFS_RETURN_IF_ERROR(load_name_crcs(named));
  for (const NamedPage& n : named) {
    ScannedPage& s = scan[n.page];
    s.oob.data_crc = n.crc;
    if (n.ok) continue;
    s.state = OobState::kCorrupt;
    s.torn = true;
    merged_[n.page] = false;
  }
  return Status::ok();
}

// Only the entries named are read (8 bytes each, neighbours joined).
Status ImageStore::load_name_crcs(std::vector<NamedPage>& named) {
  std::sort(named.begin(), named.end(), [](const NamedPage& a, const NamedPage& b) { return a.name < b.name; });
  std::vector<std::byte> entries(named.size() * kDataCrcBytes);
  read_plan_.clear();
  for (size_t i = 0; i < named.size(); ++i)
    if (named[i].name != DataSlots::kNone && (i == 0 || named[i].name != named[i - 1].name))
      read_plan_.add(layout_.data_crc_offset + uint64_t(named[i].name) * kDataCrcBytes,
                     entries.data() + i * kDataCrcBytes, kDataCrcBytes);
  CARDFS_RETURN_IF_ERROR(medium_->read(read_plan_.ops()));
  size_t first = 0;  // the entry read for this name
  for (size_t i = 0; i < named.size(); ++i) {
    NamedPage& n = named[i];
    if (n.name == DataSlots::kNone) continue;
    if (i == 0 || n.name != named[i - 1].name) first = i;
    uint32_t crc = 0;
    const bool valid = decode_data_crc(n.name, slots_.units_of(n.page), entries.data() + first * kDataCrcBytes,
                                       &crc) == OobState::kValid;
    if (!n.check) n.crc = crc;
    n.ok = valid && crc == n.crc;
    if (!n.ok) continue;
    names_[n.name].crc = crc;
    names_[n.name].state = kCovered;
  }
  return Status::ok();
}

// A clean open (image_clean_map.cpp) reads no records: the merge pages
// are those the merge table says, of held pages whose data name the clean
// map gives as the entry does. One whose name has no valid CRC entry
// stays a page without a record, and its first read finds it damaged (as
// the scan would have dropped it).
Status ImageStore::restore_merges(std::span<const uint32_t> holders) {
  if (!merges_) return Status::ok();
  CARDFS_ASSIGN_OR_RETURN(std::vector<std::optional<MergeEntry>> entries, read_merge_table());
  const uint32_t ppa = geometry_.pages_per_au;
  std::vector<NamedPage> named;
  for (uint32_t au = 0; au < entries.size(); ++au) {
    const MergeEntry* m = adopt_merge_entry(entries[au], au);
    if (!m) continue;
    for (size_t i = 0; i < m->slots.size(); ++i) {
      const uint64_t pp = uint64_t(au) * ppa + m->slots[i];
      // An unlisted name (version 8) is the one the clean map gives.
      const bool unlisted = m->names[i] == MergeEntry::kUnlisted;
      if (holders[pp] == 0 || (!unlisted && crc_name(pp) != m->names[i])) continue;  // 0: erased
      named.push_back({crc_name(pp), pp, m->crcs[i], m->verify[i], false});
    }
  }
  CARDFS_RETURN_IF_ERROR(load_name_crcs(named));
  for (const NamedPage& n : named) merged_[n.page] = n.ok;
  return Status::ok();
}

}  // namespace cardfs::sdcard
