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
  if (powered_off_) return power_cut_error();
  QueuedProgram q{physical_page, data, geometry_.page_bytes, oob};
  if (cut_armed_ && programs_left_ == 0) {
    // Power fails during this program: a torn page keeps its OOB but only
    // half its data, so its data CRC no longer matches.
    if (tear_) {
      q.bytes = geometry_.page_bytes / 2;
      queue_.push_back(q);
      (void)submit();
    } else {
      (void)submit();
    }
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

Status Flash::submit() {
  if (queue_.empty()) return Status::ok();
  std::vector<iovec> iovs;
  iovs.reserve(queue_.size());
  std::vector<IoOp> ops;
  std::vector<std::pair<size_t, size_t>> data_runs;  // [first, last) in queue_
  for (size_t i = 0; i < queue_.size(); ++i) {
    const QueuedProgram& q = queue_[i];
    iovs.push_back({const_cast<std::byte*>(q.data), q.bytes});
    bool joins = i > 0 && q.page == queue_[i - 1].page + 1 && queue_[i - 1].bytes == geometry_.page_bytes;
    if (joins)
      data_runs.back().second = i + 1;
    else
      data_runs.push_back({i, i + 1});
  }
  for (auto [first, last] : data_runs)
    ops.push_back({data_offset(queue_[first].page), std::span<const iovec>(iovs).subspan(first, last - first)});
  // The data CRCs are computed while the kernel copies the data; the OOB
  // records join the same batch. Their order within it does not matter:
  // an emulated power cut strikes between batches, and across a host crash
  // only fdatasync orders anything (the page cache writes back in any
  // order), which is why the scan checks the data CRC of every page newer
  // than the checkpoint.
  auto oob_ops = [&]() -> std::span<const IoOp> {
    oob_scratch_.resize(queue_.size() * kOobBytes);
    for (size_t i = 0; i < queue_.size(); ++i) {
      OobRecord oob = queue_[i].oob;
      oob.data_crc = page_crc(std::span(queue_[i].data, geometry_.page_bytes));
      encode_oob(oob, oob_scratch_.data() + i * kOobBytes);
    }
    oob_iovs_.clear();
    oob_ops_.clear();
    oob_iovs_.reserve(data_runs.size());
    for (auto [first, last] : data_runs) {
      oob_iovs_.push_back({oob_scratch_.data() + first * kOobBytes, (last - first) * kOobBytes});
      oob_ops_.push_back({layout_.oob_offset + queue_[first].page * kOobBytes,
                          std::span<const iovec>(&oob_iovs_.back(), 1)});
    }
    return oob_ops_;
  };
  Status st = file_.write_meanwhile(ops, oob_ops);
  queue_.clear();
  return st;
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
  // the FTL go by them). The data bytes stay allocated in the image: the
  // AU is about to be programmed again, and overwriting allocated blocks
  // is several times faster than filling holes.
  const uint64_t first = uint64_t(physical_au) * geometry_.pages_per_au;
  CARDFS_RETURN_IF_ERROR(file_.punch_hole(layout_.oob_offset + first * kOobBytes,
                                          uint64_t(geometry_.pages_per_au) * kOobBytes));
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
