// ImageStore's page I/O: programs, moves, reads and erases through the
// data slot map (sdcard/data_slots.h).
#include <algorithm>
#include <cstring>

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

bool ImageStore::joins(std::span<const PageWrite> q, size_t i) const {
  if (i == 0 || batch_slots_[i] != batch_slots_[i - 1] + 1 || q[i - 1].bytes != geometry_.page_bytes) return false;
  return q[i].data != nullptr || batch_sources_[i] == batch_sources_[i - 1] + 1;
}

template <typename PageAt>
std::vector<IoOp> ImageStore::record_runs(size_t n, PageAt page_at, std::byte* records,
                                          std::vector<iovec>& iovs) const {
  iovs.clear();
  iovs.reserve(n);  // no reallocation: the ops point into it
  std::vector<IoOp> ops;
  for (size_t i = 0; i < n; ++i) {
    if (i > 0 && page_at(i) == page_at(i - 1) + 1) {
      iovs.back().iov_len += kOobBytes;
      continue;
    }
    iovs.push_back({records + i * kOobBytes, kOobBytes});
    ops.push_back({layout_.oob_offset + page_at(i) * kOobBytes, std::span<const iovec>(&iovs.back(), 1)});
  }
  return ops;
}

std::vector<IoOp> ImageStore::oob_ops_of(std::span<const PageWrite> q) {
  oob_scratch_.resize(q.size() * kOobBytes);
  for (size_t i = 0; i < q.size(); ++i) {
    OobRecord oob = q[i].oob;
    oob.data_crc = source_crc_[i];
    oob.uncorrectable = source_bad_[i];
    oob.has_slot = indirect_;
    oob.slot = indirect_ ? batch_slots_[i] : 0;
    oob.generation = erase_table_ ? generation_of_page(q[i].page) : 0;
    encode_oob(oob, oob_scratch_.data() + i * kOobBytes);
  }
  return record_runs(q.size(), [q](size_t i) { return q[i].page; }, oob_scratch_.data(), oob_iovs_);
}

Status ImageStore::write_programs(std::span<const PageWrite> q) {
  batch_slots_.resize(q.size());
  for (size_t i = 0; i < q.size(); ++i) {
    slots_.release(q[i].page);  // programs target erased pages; a stale name must not pin a slot
    const uint32_t slot = new_slot(q[i].page);
    if (slot == DataSlots::kNone) return Status::error(EIO, "no free data slot").with_context(name());
    slots_.assign(q[i].page, slot);
    batch_slots_[i] = slot;
  }
  std::vector<iovec> iovs;
  iovs.reserve(q.size());
  std::vector<IoOp> ops;
  std::vector<std::pair<size_t, size_t>> data_runs;  // [first, last) in q
  for (size_t i = 0; i < q.size(); ++i) {
    iovs.push_back({const_cast<std::byte*>(q[i].data), q[i].bytes});
    bytes_written_ += q[i].bytes;
    if (joins(q, i))
      data_runs.back().second = i + 1;
    else
      data_runs.push_back({i, i + 1});
  }
  for (auto [first, last] : data_runs)
    ops.push_back({slot_offset(batch_slots_[first]), std::span<const iovec>(iovs).subspan(first, last - first)});
  // The data CRCs are computed while the kernel copies the data; the OOB
  // records join the same batch. Their order within it does not matter:
  // an emulated power cut strikes between batches, and across a host crash
  // only fdatasync orders anything (the page cache writes back in any
  // order), which is why the scan checks the data CRC of every page newer
  // than the checkpoint.
  auto oob_ops = [&]() -> std::span<const IoOp> {
    source_crc_.resize(q.size());
    source_bad_.assign(q.size(), false);
    for (size_t i = 0; i < q.size(); ++i) source_crc_[i] = page_crc(std::span(q[i].data, geometry_.page_bytes));
    oob_ops_ = oob_ops_of(q);
    bytes_written_ += bytes_of(oob_ops_);
    return oob_ops_;
  };
  return medium_->write_meanwhile(ops, oob_ops);
}

Status ImageStore::source_crcs(std::span<const PageWrite> q) {
  std::vector<std::byte> records(q.size() * kOobBytes);
  std::vector<iovec> iovs;
  CARDFS_RETURN_IF_ERROR(
      medium_->read(record_runs(q.size(), [q](size_t i) { return q[i].from; }, records.data(), iovs)));
  source_crc_.resize(q.size());
  source_bad_.assign(q.size(), false);
  for (size_t i = 0; i < q.size(); ++i) {
    OobRecord src;
    if (decode_oob(records.data() + i * kOobBytes, &src) == OobState::kValid &&
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
    CARDFS_RETURN_IF_ERROR(medium_->read_at(slot_offset(batch_sources_[i]), page_scratch_));
    source_crc_[i] = page_crc(page_scratch_);
    source_bad_[i] = true;
  }
  return Status::ok();
}

// A whole move names its source's slot: no byte of data moves. A torn
// move (power cut) gets a slot of its own holding the half that reached
// the flash; in a version 1 image every moved page keeps its data at its
// own place, so its bytes are copied there.
Status ImageStore::write_copies(std::span<const PageWrite> q) {
  batch_slots_.resize(q.size());
  batch_sources_.resize(q.size());
  for (size_t i = 0; i < q.size(); ++i) {
    const uint32_t source = slots_.slot_of(q[i].from);
    if (source == DataSlots::kNone)
      return Status::error(EIO, "moving erased page " + std::to_string(q[i].from)).with_context(name());
    batch_sources_[i] = source;
    slots_.release(q[i].page);
    const uint32_t slot = indirect_ && q[i].bytes == geometry_.page_bytes ? source : new_slot(q[i].page);
    if (slot == DataSlots::kNone) return Status::error(EIO, "no free data slot").with_context(name());
    slots_.assign(q[i].page, slot);
    batch_slots_[i] = slot;
  }
  CARDFS_RETURN_IF_ERROR(source_crcs(q));
  CARDFS_RETURN_IF_ERROR(copy_data(q));
  const std::vector<IoOp> ops = oob_ops_of(q);
  return write_counted(ops);
}

Status ImageStore::copy_data(std::span<const PageWrite> q) {
  for (size_t first = 0; first < q.size();) {
    if (batch_slots_[first] == batch_sources_[first]) {  // shared: nothing to copy
      ++first;
      continue;
    }
    uint64_t bytes = q[first].bytes;
    size_t last = first + 1;
    for (; last < q.size() && batch_slots_[last] != batch_sources_[last] && joins(q, last); ++last)
      bytes += q[last].bytes;
    CARDFS_RETURN_IF_ERROR(medium_->copy(slot_offset(batch_sources_[first]), slot_offset(batch_slots_[first]), bytes));
    bytes_written_ += bytes;
    first = last;
  }
  return Status::ok();
}

// Each page's part of a read comes from its slot (an erased page reads as
// zeros); neighbouring slots join one I/O, so that a large read of pages
// written in order stays one read (and may bypass the host's cache).
Status ImageStore::read(std::span<const FlashRead> reads) {
  struct Run {
    uint64_t offset, end;
    size_t first, count;
  };
  std::vector<Run> runs;
  split_iovs_.clear();
  const uint64_t page = geometry_.page_bytes;
  for (const FlashRead& r : reads) {
    uint64_t address = r.address;
    for (const iovec& v : r.iov) {
      for (uint64_t done = 0; done < v.iov_len;) {
        const uint64_t pp = address / page, in_page = address % page;
        const uint64_t n = std::min<uint64_t>(v.iov_len - done, page - in_page);
        char* dest = static_cast<char*>(v.iov_base) + done;
        const uint32_t slot = slots_.slot_of(pp);
        if (slot == DataSlots::kNone) {
          std::memset(dest, 0, n);
        } else {
          const uint64_t at = slot_offset(slot) + in_page;
          if (!runs.empty() && runs.back().end == at) {
            ++runs.back().count;
            runs.back().end += n;
          } else {
            runs.push_back({at, at + n, split_iovs_.size(), 1});
          }
          split_iovs_.push_back({dest, n});
        }
        done += n;
        address += n;
      }
    }
  }
  read_ops_.resize(runs.size());
  for (size_t i = 0; i < runs.size(); ++i)
    read_ops_[i] = {runs[i].offset, std::span<const iovec>(split_iovs_).subspan(runs[i].first, runs[i].count)};
  return medium_->read(read_ops_);
}

Status ImageStore::read_checked(std::span<const PageRead> pages, std::vector<PageFault>& faults) {
  // The records (runs of neighbouring ones as one I/O) and the data (runs
  // of neighbouring slots as one I/O, so that large reads can still bypass
  // the host's cache), in one batch.
  read_records_.resize(pages.size() * kOobBytes);
  std::vector<iovec> record_iovs;
  read_ops_ = record_runs(pages.size(), [pages](size_t i) { return pages[i].physical_page; },
                          read_records_.data(), record_iovs);
  read_iovs_.resize(pages.size());
  uint32_t last_slot = DataSlots::kNone;
  for (size_t i = 0; i < pages.size(); ++i) {
    read_iovs_[i] = {pages[i].dest, geometry_.page_bytes};
    const uint32_t slot = slots_.slot_of(pages[i].physical_page);
    if (slot == DataSlots::kNone) {  // erased: its record says so, and the read fails
      std::memset(pages[i].dest, 0, geometry_.page_bytes);
    } else if (last_slot != DataSlots::kNone && slot == last_slot + 1) {
      IoOp& run = read_ops_.back();
      run.iov = std::span<const iovec>(run.iov.data(), run.iov.size() + 1);
    } else {
      read_ops_.push_back({slot_offset(slot), std::span<const iovec>(&read_iovs_[i], 1)});
    }
    last_slot = slot;
  }
  CARDFS_RETURN_IF_ERROR(medium_->read(read_ops_));
  for (size_t i = 0; i < pages.size(); ++i)
    if (std::string why = fault_of(pages[i], read_records_.data() + i * kOobBytes); !why.empty())
      faults.push_back({i, std::move(why)});
  return Status::ok();
}

std::string ImageStore::fault_of(const PageRead& r, const std::byte* record) const {
  OobRecord oob;
  const OobState state = decode_oob(record, &oob);
  if (state == OobState::kErased || (state == OobState::kValid && erased_since(r.physical_page, oob)))
    return "its out-of-band record was erased";
  if (state != OobState::kValid) return "its out-of-band record is damaged";
  if (oob.logical_page != r.logical_page)
    return "its out-of-band record names logical page " + std::to_string(oob.logical_page);
  if (oob.uncorrectable) return "it was moved from a page the card could not read";
  if (page_crc(std::span<const std::byte>(r.dest, geometry_.page_bytes)) != oob.data_crc)
    return "its data fails the CRC of its out-of-band record";
  return "";
}

Status ImageStore::erase(uint32_t physical_au) {
  // A new erase generation (version 4), or clearing the OOB records
  // (versions 1-3), is what makes the pages erased (the scan and the FTL
  // go by them; an all-zero record is an erased page), and each page's
  // slot loses a name (its data stays until a program reuses it). The
  // records are overwritten with zeros rather than punched out, and
  // the data bytes stay as they are: overwriting allocated blocks is much
  // cheaper for the host file system than freeing them (with
  // `-o discard`, a synchronous discard of the host's disk) and allocating
  // them again page by page.
  const uint64_t first = uint64_t(physical_au) * geometry_.pages_per_au;
  for (uint64_t pp = first; pp < first + geometry_.pages_per_au; ++pp) slots_.release(pp);
  if (erase_table_) return erase_by_generation(physical_au);
  erased_oob_.resize(uint64_t(geometry_.pages_per_au) * kOobBytes);  // zeros
  return write_counted_at(layout_.oob_offset + first * kOobBytes, erased_oob_);
}

}  // namespace cardfs::sdcard
