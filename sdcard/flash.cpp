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
  const uint32_t page = geometry_.page_bytes;
  oob.data_crc = page_crc(std::span(data, page));
  QueuedProgram q{physical_page, data, page, {}};
  encode_oob(oob, q.oob.data());
  if (cut_armed_ && programs_left_ == 0) {
    // Power fails during this program: a torn page keeps its OOB but only
    // half its data, so its data CRC no longer matches.
    if (tear_) {
      q.bytes = page / 2;
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
  oob_scratch_.resize(queue_.size() * kOobBytes);
  std::vector<std::pair<size_t, size_t>> data_runs;  // [first, last) in queue_
  for (size_t i = 0; i < queue_.size(); ++i) {
    const QueuedProgram& q = queue_[i];
    iovs.push_back({const_cast<std::byte*>(q.data), q.bytes});
    std::copy(q.oob.begin(), q.oob.end(), oob_scratch_.begin() + i * kOobBytes);
    bool joins = i > 0 && q.page == queue_[i - 1].page + 1 && queue_[i - 1].bytes == geometry_.page_bytes;
    if (joins)
      data_runs.back().second = i + 1;
    else
      data_runs.push_back({i, i + 1});
  }
  for (auto [first, last] : data_runs)
    ops.push_back({data_offset(queue_[first].page), std::span<const iovec>(iovs).subspan(first, last - first)});
  std::vector<iovec> oob_iovs;
  oob_iovs.reserve(data_runs.size());
  for (auto [first, last] : data_runs)
    oob_iovs.push_back({oob_scratch_.data() + first * kOobBytes, (last - first) * kOobBytes});
  const size_t data_ops = ops.size();
  for (size_t r = 0; r < data_runs.size(); ++r)
    ops.push_back({layout_.oob_offset + queue_[data_runs[r].first].page * kOobBytes,
                   std::span<const iovec>(&oob_iovs[r], 1)});
  queue_.clear();
  // Data first, then OOB: a page counts as programmed once its OOB is there.
  CARDFS_RETURN_IF_ERROR(file_.write(std::span<const IoOp>(ops).first(data_ops)));
  return file_.write(std::span<const IoOp>(ops).subspan(data_ops));
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

void Flash::arm_power_cut(uint64_t programs_left, bool tear) {
  cut_armed_ = true;
  programs_left_ = programs_left;
  tear_ = tear;
}

}  // namespace cardfs::sdcard
