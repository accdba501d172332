// ImageStore's page I/O: programs, moves, reads and erases through the
// data unit map (sdcard/data_slots.h).
#include <algorithm>
#include <cstring>

#include "base/coding.h"
#include "sdcard/image_store.h"
#include "sdcard/page_crc.h"

namespace cardfs::sdcard {

// The batch in order, as runs of programs and runs of moves.
Status ImageStore::write(std::span<const PageWrite> all) {
  Status st;
  for (size_t i = 0; i < all.size() && st.is_ok();) {
    const bool copies = all[i].data == nullptr;
    size_t j = i + 1;
    while (j < all.size() && (all[j].data == nullptr) == copies) ++j;
    st = copies ? write_copies(all.subspan(i, j - i)) : write_programs(all.subspan(i, j - i));
    i = j;
  }
  return st;
}

template <typename PageAt>
void ImageStore::record_runs(size_t n, PageAt page_at, std::byte* records, IoPlan& plan) const {
  for (size_t i = 0; i < n; ++i) plan.add(layout_.oob_offset + page_at(i) * kOobBytes, records + i * kOobBytes, kOobBytes);
}

void ImageStore::plan_page_read(IoPlan& plan, uint64_t pp, std::byte* dest, uint32_t bytes) {
  const std::span<const uint32_t> units = slots_.units_of(pp);
  for (uint32_t k = 0; k < units.size() && k * unit_bytes_ < bytes; ++k) {
    const uint32_t len = std::min(unit_bytes_, bytes - k * unit_bytes_);
    if (units[k] == DataSlots::kNone || units[k] == DataSlots::kZero)
      std::memset(dest + k * unit_bytes_, 0, len);
    else
      plan.add(unit_offset(units[k]), dest + k * unit_bytes_, len);
  }
}

Status ImageStore::read_page(uint64_t pp, std::byte* dest) {
  read_plan_.clear();
  plan_page_read(read_plan_, pp, dest, geometry_.page_bytes);
  return medium_->read(read_plan_.ops());
}

// A record names one slot when the page's units are that slot's own run
// (every page of versions 2 and 3, a page programmed whole); else, in
// version 4 and later, its unit list; version 1 names nothing.
void ImageStore::name_data(uint64_t pp, OobRecord& oob) const {
  oob.has_slot = false;
  oob.has_units = false;
  oob.slot = 0;
  if (!indirect_) return;
  const uint32_t slot = slots_.page_slot(pp);
  oob.has_slot = slot != DataSlots::kNone;
  oob.has_units = !oob.has_slot;
  oob.slot = oob.has_slot ? slot : slots_.list_of(pp);
}

uint32_t ImageStore::crc_name(uint64_t pp) const {
  if (!indirect_ || slots_.erased(pp)) return DataSlots::kNone;
  const uint32_t slot = slots_.page_slot(pp);
  if (slot != DataSlots::kNone) return uint32_t(geometry_.physical_pages() + slot);
  return slots_.list_of(pp);
}

// A page whose units are not one slot's run gets a unit list: a program
// a new one, written with its record; a move its source's (nothing to
// write: moves cost their 32-byte records, or their share of a merge
// entry, only).
Status ImageStore::list_units(uint64_t pp, bool& write_entry) {
  write_entry = false;
  if (!indirect_ || slots_.list_of(pp) != DataSlots::kNone || slots_.page_slot(pp) != DataSlots::kNone)
    return Status::ok();
  const uint32_t id = slots_.allocate_list(pp);
  if (id == DataSlots::kNone) return Status::error(EIO, "no free unit list").with_context(name());
  slots_.set_list(pp, id);
  write_entry = true;
  return Status::ok();
}

void ImageStore::plan_unit_entry(uint64_t pp, IoPlan& plan, std::byte* entry) {
  const std::span<const uint32_t> units = slots_.units_of(pp);
  for (size_t k = 0; k < units.size(); ++k) put_u32(entry + 4 * k, units[k]);
  plan.add(layout_.unit_table_offset + uint64_t(slots_.list_of(pp)) * units.size() * 4, entry, units.size() * 4);
}

std::span<const IoOp> ImageStore::oob_ops_of(std::span<const PageWrite> q, size_t first) {
  const uint32_t upp = slots_.units_per_page();
  oob_scratch_.resize(q.size() * kOobBytes);
  unit_scratch_.resize(q.size() * upp * 4);
  crc_scratch_.resize(q.size() * kDataCrcBytes);
  oob_plan_.clear();
  for (size_t i = first; i < q.size(); ++i) {
    OobRecord oob = q[i].oob;
    oob.data_crc = source_crc_[i];
    oob.uncorrectable = source_bad_[i];
    name_data(q[i].page, oob);
    oob.generation = erase_table_ ? generation_of_page(q[i].page) : 0;
    encode_oob(oob, oob_scratch_.data() + i * kOobBytes);
  }
  record_runs(q.size() - first, [q, first](size_t i) { return q[first + i].page; },
              oob_scratch_.data() + first * kOobBytes, oob_plan_);
  // The new unit lists after the records, then (version 5) the CRCs of
  // new data and of data about to be named by a merge entry.
  for (size_t i = 0; i < q.size(); ++i)
    if (batch_entries_[i]) plan_unit_entry(q[i].page, oob_plan_, unit_scratch_.data() + i * upp * 4);
  for (size_t i = 0; merges_ && i < q.size(); ++i) {
    if (!batch_crcs_[i]) continue;
    const uint32_t name = crc_name(q[i].page);
    if (name == DataSlots::kNone) continue;
    std::byte* entry = crc_scratch_.data() + i * kDataCrcBytes;
    encode_data_crc(name, slots_.units_of(q[i].page), source_crc_[i], entry);
    oob_plan_.add(layout_.data_crc_offset + uint64_t(name) * kDataCrcBytes, entry, kDataCrcBytes);
    name_written(name, source_crc_[i]);
  }
  return oob_plan_.ops();
}

// New units for the parts the host wrote; the rest names the units of the
// logical page's latest copy (the write buffer read those bytes from it)
// or zeros. A torn program (power cut) and a version 1 image write all of
// the page's units, as whole pages were.
Status ImageStore::place_program(const PageWrite& w, IoPlan& plan, bool& entry) {
  const uint32_t upp = slots_.units_per_page();
  const uint32_t all = upp >= 32 ? ~0u : (1u << upp) - 1;
  uint32_t fresh = all;
  std::span<const uint32_t> base;
  const uint32_t lp = w.oob.logical_page;
  if (erase_table_ && w.bytes == geometry_.page_bytes) {
    fresh = w.fresh_units & all;
    if (w.keeps_old) {
      const uint32_t old = latest(lp);
      if (old != DataSlots::kNone && !slots_.erased(old))
        base = slots_.units_of(old);
      else
        fresh = all;  // the copy is not known here: keep the whole page
    }
  }
  const std::span<const uint32_t> units = slots_.program(w.page, fresh, base);
  if (units.empty()) return Status::error(EIO, "no free data unit").with_context(name());
  if (merges_) merged_[w.page] = false;
  CARDFS_RETURN_IF_ERROR(list_units(w.page, entry));
  for (uint32_t k = 0; k < upp && k * unit_bytes_ < w.bytes; ++k) {
    if ((fresh >> k & 1) == 0) continue;
    const uint32_t len = std::min(unit_bytes_, w.bytes - k * unit_bytes_);
    plan.add(unit_offset(units[k]), w.data + k * unit_bytes_, len);
    kind_bytes_.data += len;
  }
  set_latest(lp, w.page);
  return Status::ok();
}

Status ImageStore::write_programs(std::span<const PageWrite> q) {
  data_plan_.clear();
  batch_entries_.assign(q.size(), false);
  batch_crcs_.assign(q.size(), merges_);  // new data: its name's CRC
  for (size_t i = 0; i < q.size(); ++i) {
    bool entry = false;
    CARDFS_RETURN_IF_ERROR(place_program(q[i], data_plan_, entry));
    batch_entries_[i] = entry;
  }
  // The data CRCs are computed while the kernel copies the data; the OOB
  // records join the same batch. Their order within it does not matter:
  // an emulated power cut strikes between batches, and across a host crash
  // only fdatasync orders anything (the page cache writes back in any
  // order), which is why the scan checks the data CRC of every page newer
  // than the checkpoint.
  auto oob_ops = [&]() -> std::span<const IoOp> {
    source_crc_.resize(q.size());
    source_bad_.resize(q.size());
    for (size_t i = 0; i < q.size(); ++i) {
      source_crc_[i] = page_crc(std::span(q[i].data, geometry_.page_bytes));
      source_bad_[i] = q[i].oob.uncorrectable;  // a partial rewrite of a damaged page
    }
    const std::span<const IoOp> ops = oob_ops_of(q, 0);
    for (const IoOp& op : ops) count_write(op.offset, bytes_of(std::span(&op, 1)));
    return ops;
  };
  const std::span<const IoOp> data_ops = data_plan_.ops();
  CARDFS_RETURN_IF_ERROR(allocate_for(data_ops));
  return medium_->write_meanwhile(data_ops, oob_ops);
}

Status ImageStore::source_crcs(std::span<const PageWrite> q) {
  source_crc_.resize(q.size());
  source_bad_.assign(q.size(), false);
  // A source in a merge entry has no record of its own: its list's CRC
  // is the one its entry gave it.
  std::vector<size_t>& recorded = recorded_sources_;
  recorded.clear();
  // The names first, each name's entry fetched meanwhile: names are
  // scattered, and one miss at a time was most of a merge's time.
  batch_names_.resize(q.size());
  for (size_t i = 0; i < q.size(); ++i) {
    const bool named = merges_ && merged_[q[i].from];
    batch_names_[i] = named ? crc_name(q[i].from) : DataSlots::kNone;
    if (batch_names_[i] != DataSlots::kNone) __builtin_prefetch(&names_[batch_names_[i]]);
    if (!named) recorded.push_back(i);
  }
  for (size_t i = 0; merges_ && i < q.size(); ++i)
    if (merged_[q[i].from]) source_crc_[i] = names_[batch_names_[i]].crc;
  if (recorded.empty()) return Status::ok();
  std::vector<std::byte>& records = source_records_;
  records.resize(recorded.size() * kOobBytes);
  read_plan_.clear();
  record_runs(recorded.size(), [&](size_t j) { return q[recorded[j]].from; }, records.data(), read_plan_);
  CARDFS_RETURN_IF_ERROR(medium_->read(read_plan_.ops()));
  for (size_t j = 0; j < recorded.size(); ++j) {
    const size_t i = recorded[j];
    OobRecord src;
    if (decode_oob(records.data() + j * kOobBytes, &src) == OobState::kValid &&
        src.logical_page == q[i].oob.logical_page) {
      source_crc_[i] = src.data_crc;  // a source whose data fails it keeps failing
      source_bad_[i] = src.uncorrectable;
      continue;
    }
    // The source's record does not name the page (damaged in the image):
    // the copy stays as unreadable as its source (a card moving a page its
    // ECC cannot correct does not make it good), marked as such so that
    // the power-on scan does not take it for a torn page either.
    page_scratch_.resize(geometry_.page_bytes);
    CARDFS_RETURN_IF_ERROR(read_page(q[i].from, page_scratch_.data()));
    source_crc_[i] = page_crc(page_scratch_);
    source_bad_[i] = true;
  }
  return Status::ok();
}

// A whole move names its source's units: no byte of data moves. A torn
// move (power cut) gets units of its own holding the half that reached
// the flash; in a version 1 image every moved page keeps its data at its
// own place, so its bytes are copied there.
Status ImageStore::place_copy(const PageWrite& w, bool& entry) {
  entry = false;
  if (slots_.erased(w.from))
    return Status::error(EIO, "moving erased page " + std::to_string(w.from)).with_context(name());
  const uint32_t lp = w.oob.logical_page;
  set_latest(lp, w.page);
  if (merges_) merged_[w.page] = false;
  if (indirect_ && w.bytes == geometry_.page_bytes) {
    slots_.move(w.from, w.page);
    return list_units(w.page, entry);
  }
  const std::span<const uint32_t> from_units = slots_.units_of(w.from);
  copy_source_.assign(from_units.begin(), from_units.end());
  const std::vector<uint32_t>& source = copy_source_;
  const std::span<const uint32_t> units = slots_.program(w.page, ~0u, {});
  if (units.empty()) return Status::error(EIO, "no free data unit").with_context(name());
  for (uint32_t k = 0; k < units.size() && k * unit_bytes_ < w.bytes; ++k) {
    const uint32_t len = std::min(unit_bytes_, w.bytes - k * unit_bytes_);
    if (source[k] == DataSlots::kZero) {
      zeros_.resize(unit_bytes_);
      CARDFS_RETURN_IF_ERROR(medium_->write_at(unit_offset(units[k]), std::span(zeros_).first(len)));
    } else {
      CARDFS_RETURN_IF_ERROR(medium_->copy(unit_offset(source[k]), unit_offset(units[k]), len));
    }
    kind_bytes_.data += len;
  }
  return list_units(w.page, entry);
}

Status ImageStore::write_copies(std::span<const PageWrite> q) {
  CARDFS_RETURN_IF_ERROR(source_crcs(q));
  batch_entries_.assign(q.size(), false);
  batch_crcs_.assign(q.size(), false);
  batch_names_.resize(q.size());
  for (size_t i = 0; i < q.size(); ++i) {
    bool entry = false;
    CARDFS_RETURN_IF_ERROR(place_copy(q[i], entry));
    batch_entries_[i] = entry;
    // Data whose name has no CRC entry yet (new units of a torn move, a
    // name from before version 5 or not read at power-on) gets one.
    // A whole move names its source's data, whose name source_crcs found,
    // unless it got a unit list of its own.
    const bool source_named = !entry && indirect_ && q[i].bytes == geometry_.page_bytes &&
                              batch_names_[i] != DataSlots::kNone;
    const uint32_t name = batch_names_[i] = source_named ? batch_names_[i] : crc_name(q[i].page);
    batch_crcs_[i] = merges_ && name != DataSlots::kNone &&
                     (entry || q[i].bytes != geometry_.page_bytes || names_[name].state == kNoCrc);
  }
  // The moves of one merge into an AU: one merge entry (after the lists
  // it names are planned, so it knows which are new); the rest: records.
  const size_t merged = merge_run(q);
  oob_ops_of(q, merged);
  if (merged > 0) plan_merge_entry(q, merged, oob_plan_);
  return write_counted(oob_plan_.ops());
}

// Each page's part of a read comes from its units (an erased page and a
// unit of zeros read as zeros); neighbouring units join one I/O, so that a
// large read of pages written in order stays one read (and may bypass the
// host's cache).
Status ImageStore::read(std::span<const FlashRead> reads) {
  read_plan_.clear();
  const uint64_t page = geometry_.page_bytes;
  for (const FlashRead& r : reads) {
    uint64_t address = r.address;
    for (const iovec& v : r.iov) {
      for (uint64_t done = 0; done < v.iov_len;) {
        const uint64_t pp = address / page, in_page = address % page;
        const uint64_t k = in_page / unit_bytes_, in_unit = in_page % unit_bytes_;
        const uint64_t n = std::min<uint64_t>(v.iov_len - done, unit_bytes_ - in_unit);
        char* dest = static_cast<char*>(v.iov_base) + done;
        const uint32_t unit = slots_.units_of(pp)[k];
        if (unit == DataSlots::kNone || unit == DataSlots::kZero)
          std::memset(dest, 0, n);
        else
          read_plan_.add(unit_offset(unit) + in_unit, dest, n);
        done += n;
        address += n;
      }
    }
  }
  return medium_->read(read_plan_.ops());
}

Status ImageStore::read_checked(std::span<const PageRead> pages, std::vector<PageFault>& faults) {
  // The records (runs of neighbouring ones as one I/O) and the data (runs
  // of neighbouring units as one I/O, so that large reads can still bypass
  // the host's cache), in one batch.
  read_records_.resize(pages.size() * kOobBytes);
  read_plan_.clear();
  record_runs(pages.size(), [pages](size_t i) { return pages[i].physical_page; }, read_records_.data(), read_plan_);
  // An erased page's record says so, and the read fails.
  for (const PageRead& r : pages) plan_page_read(read_plan_, r.physical_page, r.dest, geometry_.page_bytes);
  CARDFS_RETURN_IF_ERROR(medium_->read(read_plan_.ops()));
  // A page in a merge entry has no record of its own: what its entry says.
  for (size_t i = 0; merges_ && i < pages.size(); ++i)
    if (merged_[pages[i].physical_page])
      encode_oob(merged_record(pages[i].physical_page), read_records_.data() + i * kOobBytes);
  for (size_t i = 0; i < pages.size(); ++i) {
    bool bad_record = false;
    if (std::string why = fault_of(pages[i], read_records_.data() + i * kOobBytes, bad_record); !why.empty())
      faults.push_back({i, std::move(why), bad_record});
  }
  return Status::ok();
}

std::string ImageStore::fault_of(const PageRead& r, const std::byte* record, bool& bad_record) const {
  OobRecord oob;
  const OobState state = decode_oob(record, &oob);
  bad_record = true;
  if (state == OobState::kErased || (state == OobState::kValid && erased_since(r.physical_page, oob)))
    return "its out-of-band record was erased";
  if (state != OobState::kValid) return "its out-of-band record is damaged";
  if (oob.logical_page != r.logical_page)
    return "its out-of-band record names logical page " + std::to_string(oob.logical_page);
  // The data it names must be where the store reads the page from (a
  // record naming a slot beyond the data area is damage the scan finds;
  // after a clean open, this read finds it). A record naming neither a
  // slot nor units (version 2) names its own slot.
  if (indirect_) {
    OobRecord named;
    name_data(r.physical_page, named);
    const uint64_t slot = oob.has_slot || oob.has_units ? oob.slot : r.physical_page;
    if (oob.has_units != named.has_units || slot != named.slot) return "its out-of-band record names other data";
  }
  bad_record = false;
  if (oob.uncorrectable) return "it was copied from a page the card could not read";
  if (page_crc(std::span<const std::byte>(r.dest, geometry_.page_bytes)) != oob.data_crc)
    return "its data fails the CRC of its out-of-band record";
  return "";
}

Status ImageStore::erase(uint32_t physical_au) {
  // A new erase generation (version 4), or clearing the OOB records
  // (versions 1-3), is what makes the pages erased (the scan and the FTL
  // go by them; an all-zero record is an erased page), and each page's
  // units lose a name (their data stays until a program reuses them). The
  // records are overwritten with zeros rather than punched out, and
  // the data bytes stay as they are: overwriting allocated blocks is much
  // cheaper for the host file system than freeing them (with
  // `-o discard`, a synchronous discard of the host's disk) and allocating
  // them again page by page.
  const uint64_t first = uint64_t(physical_au) * geometry_.pages_per_au;
  for (uint64_t pp = first; pp < first + geometry_.pages_per_au; ++pp) slots_.release(pp);
  if (merges_) forget_merges(physical_au);
  if (erase_table_) return erase_by_generation(physical_au);
  erased_oob_.resize(uint64_t(geometry_.pages_per_au) * kOobBytes);  // zeros
  return write_counted_at(layout_.oob_offset + first * kOobBytes, erased_oob_);
}

}  // namespace cardfs::sdcard
