#include "sdcard/flash.h"

#include "base/log.h"

namespace cardfs::sdcard {

Flash::Flash(PageStore& store, const Profile& profile, const Geometry& g, CardCounters& counters)
    : store_(store),
      queue_writes_(store.keeps_data()),
      profile_(profile),
      geometry_(g),
      counters_(counters),
      queued_move_target_(queue_writes_ ? g.physical_pages() : 0) {}

Status Flash::power_cut_error() const { return Status::error(EIO, "card lost power"); }

Status Flash::program(uint64_t physical_page, const std::byte* data, OobRecord oob,
                      ProgramCause cause) {
  PageWrite w{physical_page, data, 0, geometry_.page_bytes, oob};
  if (cause == ProgramCause::kHost && !partial_.empty()) {
    if (auto it = partial_.find(oob.logical_page); it != partial_.end()) {
      w.fresh_units = it->second.fresh_units;
      w.keeps_old = it->second.keeps_old;
      w.oob.uncorrectable = it->second.damaged;
      partial_.erase(it);
    }
  }
  return queue_page(w, cause);
}

void Flash::note_partial_write(uint32_t lp, uint32_t fresh_units, bool keeps_old, bool damaged) {
  if (queue_writes_) partial_[lp] = {fresh_units, keeps_old, damaged};
}

Status Flash::copy(uint64_t from, uint64_t to, OobRecord oob) {
  // A source that is itself still a queued move's destination must reach
  // the store first (its OOB record and data are read when moving).
  if (queue_writes_ && queued_move_target_[from]) CARDFS_RETURN_IF_ERROR(submit());
  return queue_page({to, nullptr, from, geometry_.page_bytes, oob}, ProgramCause::kMerge);
}

Status Flash::queue_page(const PageWrite& q, ProgramCause cause) {
  if (powered_off_) return power_cut_error();
  if (cut_armed_ && programs_left_ == 0) [[unlikely]] {
    // Power fails during this program: a torn page keeps its OOB but only
    // half its data, so its data CRC no longer matches.
    if (tear_ && queue_writes_) {
      queue_.push_back(q);
      queue_.back().bytes = geometry_.page_bytes / 2;
    }
    (void)submit();
    (void)store_.finish_writes();  // the image holds what reached the flash, at once
    powered_off_ = true;
    return power_cut_error();
  }
  if (cut_armed_) --programs_left_;
  if (queue_writes_) {
    queue_.push_back(q);
    if (q.data == nullptr) queued_move_target_[q.page] = true;
  }
  ++counters_.flash_pages_programmed;
  if (cause == ProgramCause::kHost) {
    counters_.time.program += profile_.page_program;
  } else {
    ++counters_.merge_pages_copied;
    counters_.time.merge += profile_.page_move;
  }
  return Status::ok();
}

void Flash::charge_moves(uint64_t n) {
  counters_.flash_pages_programmed += n;
  counters_.merge_pages_copied += n;
  counters_.time.merge += profile_.page_move * int64_t(n);
}

Status Flash::submit() {
  if (queue_.empty()) return Status::ok();
  Status st = store_.write(queue_);
  clear_queue();
  return st;
}

void Flash::clear_queue() {
  for (const PageWrite& q : queue_)
    if (q.data == nullptr) queued_move_target_[q.page] = false;
  queue_.clear();
}

Status Flash::read(std::span<const PageRead> pages) {
  if (powered_off_) return power_cut_error();
  CARDFS_RETURN_IF_ERROR(submit());
  counters_.flash_pages_read += pages.size();
  counters_.time.read += profile_.page_read * int64_t(pages.size());
  faults_.clear();
  CARDFS_RETURN_IF_ERROR(store_.read_checked(pages, faults_));
  if (faults_.empty()) return Status::ok();
  const PageRead& bad = pages[faults_.front().index];
  return unreadable(bad.logical_page, int64_t(bad.physical_page), faults_.front().why);
}

Result<std::vector<size_t>> Flash::patrol(std::span<const PageRead> pages) {
  if (powered_off_) return power_cut_error();
  CARDFS_RETURN_IF_ERROR(submit());
  faults_.clear();
  CARDFS_RETURN_IF_ERROR(store_.read_checked(pages, faults_));
  std::vector<size_t> bad;
  for (const PageFault& f : faults_) bad.push_back(f.index);
  return bad;
}

Status Flash::unreadable(uint32_t logical_page, int64_t physical_page, const std::string& why) {
  ++counters_.ecc_errors;
  const uint64_t first = uint64_t(logical_page) * geometry_.sectors_per_page();
  const std::string where = "logical page " + std::to_string(logical_page) + " (sectors " + std::to_string(first) +
                            "-" + std::to_string(first + geometry_.sectors_per_page() - 1) + ")" +
                            (physical_page >= 0 ? ", physical page " + std::to_string(physical_page) : "");
  if (reported_.insert(logical_page).second)
    logger("sdcard")->error("{}: {} is unreadable: {}; reads of it fail with EIO", store_.name(), where, why);
  return Status::error(EIO, "uncorrectable read error: " + where + ": " + why);
}

Result<std::vector<size_t>> Flash::read_for_rewrite(std::span<const PageRead> pages) {
  if (powered_off_) return power_cut_error();
  counters_.flash_pages_read += pages.size();
  counters_.time.read += profile_.page_read * int64_t(pages.size());
  if (!store_.keeps_data()) return std::vector<size_t>{};
  return patrol(pages);
}

Status Flash::erase(uint32_t physical_au) {
  if (powered_off_) return power_cut_error();
  CARDFS_RETURN_IF_ERROR(submit());
  CARDFS_RETURN_IF_ERROR(store_.erase(physical_au));
  ++counters_.erases;
  counters_.time.erase += profile_.block_erase * int64_t(geometry_.erase_blocks_per_au());
  return Status::ok();
}

Status Flash::prepare(uint32_t physical_au) {
  if (powered_off_) return power_cut_error();
  return store_.prepare(physical_au);
}

void Flash::arm_power_cut(uint64_t programs_left, bool tear) {
  cut_armed_ = true;
  programs_left_ = programs_left;
  tear_ = tear;
}

}  // namespace cardfs::sdcard
