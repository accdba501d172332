// The block (AU-associative) FTL of cheap SD cards: seed 004's model.
#include <algorithm>

#include "sdcard/ftl.h"

namespace cardfs::sdcard {

Status FlashTranslationLayer::write_block(uint32_t lp, const std::byte* data) {
  const uint32_t lau = lp / ppa_, k = lp % ppa_;
  int32_t log = log_of_[lau];
  if (log < 0) {
    CARDFS_ASSIGN_OR_RETURN(uint32_t opened, open_log(lau));
    log = int32_t(opened);
  } else {
    auto it = std::find(lru_.begin(), lru_.end(), lau);
    std::rotate(it, it + 1, lru_.end());
  }
  if (slot_erased(uint32_t(log), k)) return program(lp, uint32_t(log), k, data, ProgramCause::kHost);
  // The page's own slot was programmed in this log: put it elsewhere, which
  // makes the closing merge a full one.
  int spill = find_spill(uint32_t(log));
  if (spill >= 0) {
    aus_[log].in_place = false;
    return program(lp, uint32_t(log), uint32_t(spill), data, ProgramCause::kHost);
  }
  CARDFS_RETURN_IF_ERROR(close_log(lau));
  CARDFS_ASSIGN_OR_RETURN(uint32_t fresh, open_log(lau));
  return program(lp, fresh, k, data, ProgramCause::kHost);
}

int FlashTranslationLayer::find_spill(uint32_t au) {
  PhysAu& a = aus_[au];
  while (a.spill < ppa_) {  // counts down; wraps past 0 to stop
    uint32_t s = a.spill--;
    if (slot_erased(au, s)) return int(s);
  }
  return -1;
}

Result<uint32_t> FlashTranslationLayer::open_log(uint32_t lau) {
  if (lru_.size() >= profile_.open_aus) CARDFS_RETURN_IF_ERROR(close_log(lru_.front()));
  CARDFS_ASSIGN_OR_RETURN(uint32_t au, allocate());
  set_role(au, AuRole::kLog);
  aus_[au].owner = lau;
  log_of_[lau] = int32_t(au);
  lru_.push_back(lau);
  ++counters_.au_opens;
  return au;
}

Status FlashTranslationLayer::close_log(uint32_t lau) {
  const int32_t log = log_of_[lau], data = data_of_[lau];
  log_of_[lau] = -1;
  lru_.erase(std::find(lru_.begin(), lru_.end(), lau));
  ++counters_.au_closes;
  if (!aus_[log].in_place) {
    log_of_[lau] = log;  // merge_all retires it with the others
    return merge_all(lau);
  }
  // Fold: the data AU's still-valid pages move into their own (erased)
  // slots of the log, which becomes the data AU.
  std::vector<uint32_t> moving;
  if (data >= 0) moving = valid_pages_of(uint32_t(data));
  for (uint32_t lp : moving) {
    if (!slot_erased(uint32_t(log), lp % ppa_)) {
      log_of_[lau] = log;
      return merge_all(lau);
    }
  }
  if (!moving.empty()) {
    ++counters_.merges;
    CARDFS_RETURN_IF_ERROR(copy_pages(moving, log));
  }
  if (data >= 0) retire(uint32_t(data));
  set_role(uint32_t(log), AuRole::kData);
  data_of_[lau] = log;
  return Status::ok();
}

Status FlashTranslationLayer::merge_all(uint32_t lau) {
  std::vector<uint32_t> pages, sources;
  auto add_source = [&](int64_t au) {
    if (au >= 0 && std::find(sources.begin(), sources.end(), uint32_t(au)) == sources.end())
      sources.push_back(uint32_t(au));
  };
  add_source(data_of_[lau]);
  add_source(log_of_[lau]);
  for (uint32_t k = 0; k < ppa_; ++k) {
    const uint32_t lp = lau * ppa_ + k;
    if (map_[lp] == kUnmapped) continue;
    pages.push_back(lp);
    add_source(map_[lp] / ppa_);
  }
  data_of_[lau] = log_of_[lau] = -1;
  if (!pages.empty()) {
    CARDFS_ASSIGN_OR_RETURN(uint32_t fresh, allocate());
    set_role(fresh, AuRole::kData);
    aus_[fresh].owner = lau;
    ++counters_.merges;
    CARDFS_RETURN_IF_ERROR(copy_pages(pages, fresh));
    data_of_[lau] = int32_t(fresh);
  }
  for (uint32_t au : sources) retire(au);
  return Status::ok();
}

}  // namespace cardfs::sdcard
