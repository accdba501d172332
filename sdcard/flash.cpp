#include "sdcard/flash.h"

#include <algorithm>

#include "sdcard/page_crc.h"

namespace cardfs::sdcard {

Flash::Flash(ImageFile& file, const Profile& profile, const Geometry& g, const ImageLayout& layout,
             CardCounters& counters)
    : file_(file), profile_(profile), geometry_(g), layout_(layout), counters_(counters) {}

Status Flash::power_cut_error() const { return Status::error(EIO, "card lost power"); }

Status Flash::program(uint64_t physical_page, const std::byte* data, OobRecord oob,
                      ProgramCause cause) {
  return queue_page({physical_page, data, 0, geometry_.page_bytes, oob}, cause);
}

Status Flash::copy(uint64_t from, uint64_t to, OobRecord oob) {
  // A source that is itself still a queued copy's destination must reach
  // the image first (its OOB record and data are read when copying).
  for (const QueuedProgram& q : queue_)
    if (q.page == from && q.data == nullptr) {
      CARDFS_RETURN_IF_ERROR(submit());
      break;
    }
  return queue_page({to, nullptr, from, geometry_.page_bytes, oob}, ProgramCause::kMerge);
}

Status Flash::queue_page(const QueuedProgram& page, ProgramCause cause) {
  if (powered_off_) return power_cut_error();
  QueuedProgram q = page;
  if (cut_armed_ && programs_left_ == 0) {
    // Power fails during this program: a torn page keeps its OOB but only
    // half its data, so its data CRC no longer matches.
    if (tear_) {
      q.bytes = geometry_.page_bytes / 2;
      queue_.push_back(q);
    }
    (void)submit();
    powered_off_ = true;
    return power_cut_error();
  }
  if (cut_armed_) --programs_left_;
  queue_.push_back(q);
  ++counters_.flash_pages_programmed;
  if (cause == ProgramCause::kHost) {
    counters_.time.program += profile_.page_program;
  } else {
    ++counters_.merge_pages_copied;
    counters_.time.merge += profile_.page_move;
  }
  return Status::ok();
}

// The queue in order, as runs of programs and runs of copies.
Status Flash::submit() {
  Status st;
  const std::span<const QueuedProgram> all(queue_);
  for (size_t i = 0; i < all.size() && st.is_ok();) {
    const bool copies = all[i].data == nullptr;
    size_t j = i + 1;
    while (j < all.size() && (all[j].data == nullptr) == copies) ++j;
    st = copies ? write_copies(all.subspan(i, j - i)) : write_programs(all.subspan(i, j - i));
    i = j;
  }
  queue_.clear();
  return st;
}

// Pages that continue the previous one in the image (and its source, for
// copies) join its run; a torn page ends a run.
bool Flash::joins(std::span<const QueuedProgram> q, size_t i, uint32_t page_bytes) {
  if (i == 0 || q[i].page != q[i - 1].page + 1 || q[i - 1].bytes != page_bytes) return false;
  return q[i].data != nullptr || q[i].from == q[i - 1].from + 1;
}

// One I/O per run of consecutive pages (q[i].*page_of) over their OOB
// records, entry i at records + i * kOobBytes; `iovs` holds what the ops
// point to and must outlive them.
std::vector<IoOp> Flash::record_runs(std::span<const QueuedProgram> q, uint64_t QueuedProgram::*page_of,
                                     std::byte* records, std::vector<iovec>& iovs) const {
  iovs.clear();
  iovs.reserve(q.size());  // no reallocation: the ops point into it
  std::vector<IoOp> ops;
  for (size_t i = 0; i < q.size(); ++i) {
    if (i > 0 && q[i].*page_of == q[i - 1].*page_of + 1) {
      iovs.back().iov_len += kOobBytes;
      continue;
    }
    iovs.push_back({records + i * kOobBytes, kOobBytes});
    ops.push_back({layout_.oob_offset + q[i].*page_of * kOobBytes, std::span<const iovec>(&iovs.back(), 1)});
  }
  return ops;
}

std::vector<IoOp> Flash::oob_ops_of(std::span<const QueuedProgram> q) {
  oob_scratch_.resize(q.size() * kOobBytes);
  for (size_t i = 0; i < q.size(); ++i) {
    OobRecord oob = q[i].oob;
    oob.data_crc = source_crc_[i];
    encode_oob(oob, oob_scratch_.data() + i * kOobBytes);
  }
  return record_runs(q, &QueuedProgram::page, oob_scratch_.data(), oob_iovs_);
}

Status Flash::write_programs(std::span<const QueuedProgram> q) {
  std::vector<iovec> iovs;
  iovs.reserve(q.size());
  std::vector<IoOp> ops;
  std::vector<std::pair<size_t, size_t>> data_runs;  // [first, last) in q
  for (size_t i = 0; i < q.size(); ++i) {
    iovs.push_back({const_cast<std::byte*>(q[i].data), q[i].bytes});
    if (joins(q, i, geometry_.page_bytes))
      data_runs.back().second = i + 1;
    else
      data_runs.push_back({i, i + 1});
  }
  for (auto [first, last] : data_runs)
    ops.push_back({data_offset(q[first].page), std::span<const iovec>(iovs).subspan(first, last - first)});
  // The data CRCs are computed while the kernel copies the data; the OOB
  // records join the same batch. Their order within it does not matter:
  // an emulated power cut strikes between batches, and across a host crash
  // only fdatasync orders anything (the page cache writes back in any
  // order), which is why the scan checks the data CRC of every page newer
  // than the checkpoint.
  auto oob_ops = [&]() -> std::span<const IoOp> {
    source_crc_.resize(q.size());
    for (size_t i = 0; i < q.size(); ++i) source_crc_[i] = page_crc(std::span(q[i].data, geometry_.page_bytes));
    oob_ops_ = oob_ops_of(q);
    return oob_ops_;
  };
  return file_.write_meanwhile(ops, oob_ops);
}

Status Flash::source_crcs(std::span<const QueuedProgram> q) {
  std::vector<std::byte> records(q.size() * kOobBytes);
  std::vector<iovec> iovs;
  CARDFS_RETURN_IF_ERROR(file_.read(record_runs(q, &QueuedProgram::from, records.data(), iovs)));
  source_crc_.resize(q.size());
  for (size_t i = 0; i < q.size(); ++i) {
    OobRecord src;
    if (decode_oob(records.data() + i * kOobBytes, &src) == OobState::kValid &&
        src.logical_page == q[i].oob.logical_page) {
      source_crc_[i] = src.data_crc;
      continue;
    }
    // The source's record does not name the page (damaged in the image):
    // checksum the data itself, as a program would.
    page_scratch_.resize(geometry_.page_bytes);
    CARDFS_RETURN_IF_ERROR(file_.read_at(data_offset(q[i].from), page_scratch_));
    source_crc_[i] = page_crc(page_scratch_);
  }
  return Status::ok();
}

Status Flash::write_copies(std::span<const QueuedProgram> q) {
  CARDFS_RETURN_IF_ERROR(source_crcs(q));
  for (size_t first = 0; first < q.size();) {
    uint64_t bytes = q[first].bytes;
    size_t last = first + 1;
    for (; last < q.size() && joins(q, last, geometry_.page_bytes); ++last) bytes += q[last].bytes;
    CARDFS_RETURN_IF_ERROR(file_.copy(data_offset(q[first].from), data_offset(q[first].page), bytes));
    first = last;
  }
  const std::vector<IoOp> ops = oob_ops_of(q);
  return file_.write(ops);
}

Status Flash::read(std::span<const PageRead> pages, bool for_merge) {
  if (powered_off_) return power_cut_error();
  CARDFS_RETURN_IF_ERROR(submit());
  std::vector<iovec> iovs(pages.size());
  std::vector<IoOp> ops(pages.size());
  for (size_t i = 0; i < pages.size(); ++i) {
    iovs[i] = {pages[i].dest, geometry_.page_bytes};
    ops[i] = {data_offset(pages[i].physical_page), std::span<const iovec>(&iovs[i], 1)};
  }
  if (!for_merge) {
    counters_.flash_pages_read += pages.size();
    counters_.time.read += profile_.page_read * int64_t(pages.size());
  }
  return file_.read(ops);
}

Status Flash::read_host(std::span<const IoOp> ops, uint64_t pages) {
  if (powered_off_) return power_cut_error();
  CARDFS_RETURN_IF_ERROR(submit());
  counters_.flash_pages_read += pages;
  counters_.time.read += profile_.page_read * int64_t(pages);
  return file_.read(ops);
}

Status Flash::erase(uint32_t physical_au) {
  if (powered_off_) return power_cut_error();
  CARDFS_RETURN_IF_ERROR(submit());
  // Clearing the OOB records is what makes the pages erased (the scan and
  // the FTL go by them; an all-zero record is an erased page). They are
  // overwritten with zeros rather than punched out, and the data bytes
  // stay as they are: the AU is about to be programmed again, and
  // overwriting allocated blocks is much cheaper for the host file system
  // than freeing them (with `-o discard`, a synchronous discard of the
  // host's disk) and allocating them again page by page.
  const uint64_t first = uint64_t(physical_au) * geometry_.pages_per_au;
  erased_oob_.resize(uint64_t(geometry_.pages_per_au) * kOobBytes);  // zeros
  CARDFS_RETURN_IF_ERROR(file_.write_at(layout_.oob_offset + first * kOobBytes, erased_oob_));
  ++counters_.erases;
  counters_.time.erase += profile_.block_erase * int64_t(geometry_.erase_blocks_per_au());
  return Status::ok();
}

Status Flash::prepare(uint32_t physical_au) {
  if (powered_off_) return power_cut_error();
  const uint64_t au_bytes = uint64_t(geometry_.pages_per_au) * geometry_.page_bytes;
  return file_.preallocate(data_offset(uint64_t(physical_au) * geometry_.pages_per_au), au_bytes);
}

void Flash::arm_power_cut(uint64_t programs_left, bool tear) {
  cut_armed_ = true;
  programs_left_ = programs_left;
  tear_ = tear;
}

}  // namespace cardfs::sdcard
