// The block (AU-associative) FTL of cheap SD cards: seed 004's model.
// Each logical AU has at most one data AU and, while open, one log AU
// taking its writes; at most profile.open_aus logs exist, the least
// recently used closing first. Closing folds the data AU's valid pages
// into the log when every page sits at its own offset, else merges all
// into a fresh AU.
#include <algorithm>

#include "sdcard/ftl.h"

namespace cardfs::sdcard {
namespace {

class BlockFtl final : public FtlPolicy {
 public:
  explicit BlockFtl(FlashTranslationLayer& ftl)
      : ftl_(ftl),
        ppa_(ftl.pages_per_au()),
        data_of_(ftl.geometry().user_aus, -1),
        log_of_(ftl.geometry().user_aus, -1) {}

  Status write(uint32_t lp, const std::byte* data) override;

  void reset() override {
    std::fill(data_of_.begin(), data_of_.end(), -1);
    std::fill(log_of_.begin(), log_of_.end(), -1);
    lru_.clear();
  }
  bool restore(uint32_t au, const AuRecord& r) override;
  bool restored() override { return lru_.size() <= ftl_.profile().open_aus; }
  void derived(uint32_t au, uint32_t owner) override {
    if (data_of_[owner] < 0) data_of_[owner] = int32_t(au);
  }
  Status normalize() override;
  bool owns_aus() const override { return true; }

 private:
  Result<uint32_t> open_log(uint32_t lau);
  Status close_log(uint32_t lau);
  Status merge_all(uint32_t lau);
  int find_spill(uint32_t au);

  FlashTranslationLayer& ftl_;
  const uint32_t ppa_;
  std::vector<int32_t> data_of_;  // logical AU -> data AU, -1: none
  std::vector<int32_t> log_of_;   // logical AU -> open log AU, -1: closed
  std::vector<uint32_t> lru_;     // open logical AUs, least recently used first
};

Status BlockFtl::write(uint32_t lp, const std::byte* data) {
  const uint32_t lau = lp / ppa_, k = lp % ppa_;
  int32_t log = log_of_[lau];
  if (log < 0) {
    CARDFS_ASSIGN_OR_RETURN(uint32_t opened, open_log(lau));
    log = int32_t(opened);
  } else {
    auto it = std::find(lru_.begin(), lru_.end(), lau);
    std::rotate(it, it + 1, lru_.end());
  }
  if (ftl_.slot_erased(uint32_t(log), k)) return ftl_.program(lp, uint32_t(log), k, data, ProgramCause::kHost);
  // The page's own slot was programmed in this log: put it elsewhere, which
  // makes the closing merge a full one.
  int spill = find_spill(uint32_t(log));
  if (spill >= 0) {
    ftl_.aus()[log].in_place = false;
    return ftl_.program(lp, uint32_t(log), uint32_t(spill), data, ProgramCause::kHost);
  }
  CARDFS_RETURN_IF_ERROR(close_log(lau));
  CARDFS_ASSIGN_OR_RETURN(uint32_t fresh, open_log(lau));
  return ftl_.program(lp, fresh, k, data, ProgramCause::kHost);
}

int BlockFtl::find_spill(uint32_t au) {
  FlashTranslationLayer::PhysAu& a = ftl_.aus()[au];
  while (a.spill < ppa_) {  // counts down; wraps past 0 to stop
    uint32_t s = a.spill--;
    if (ftl_.slot_erased(au, s)) return int(s);
  }
  return -1;
}

Result<uint32_t> BlockFtl::open_log(uint32_t lau) {
  if (lru_.size() >= ftl_.profile().open_aus) CARDFS_RETURN_IF_ERROR(close_log(lru_.front()));
  CARDFS_ASSIGN_OR_RETURN(uint32_t au, ftl_.allocate());
  ftl_.set_role(au, AuRole::kLog);
  ftl_.aus()[au].owner = lau;
  log_of_[lau] = int32_t(au);
  lru_.push_back(lau);
  ++ftl_.counters().au_opens;
  return au;
}

Status BlockFtl::close_log(uint32_t lau) {
  const int32_t log = log_of_[lau], data = data_of_[lau];
  log_of_[lau] = -1;
  lru_.erase(std::find(lru_.begin(), lru_.end(), lau));
  ++ftl_.counters().au_closes;
  if (!ftl_.aus()[log].in_place) {
    log_of_[lau] = log;  // merge_all retires it with the others
    return merge_all(lau);
  }
  // Fold: the data AU's still-valid pages move into their own (erased)
  // slots of the log, which becomes the data AU.
  std::vector<uint32_t> moving;
  if (data >= 0) moving = ftl_.valid_pages_of(uint32_t(data));
  for (uint32_t lp : moving) {
    if (!ftl_.slot_erased(uint32_t(log), lp % ppa_)) {
      log_of_[lau] = log;
      return merge_all(lau);
    }
  }
  if (!moving.empty()) {
    ++ftl_.counters().merges;
    CARDFS_RETURN_IF_ERROR(ftl_.copy_in_place(moving, uint32_t(log)));
  }
  if (data >= 0) ftl_.retire(uint32_t(data));
  ftl_.set_role(uint32_t(log), AuRole::kData);
  data_of_[lau] = log;
  return Status::ok();
}

Status BlockFtl::merge_all(uint32_t lau) {
  std::vector<uint32_t> pages, sources;
  auto add_source = [&](int64_t au) {
    if (au >= 0 && std::find(sources.begin(), sources.end(), uint32_t(au)) == sources.end())
      sources.push_back(uint32_t(au));
  };
  add_source(data_of_[lau]);
  add_source(log_of_[lau]);
  for (uint32_t k = 0; k < ppa_; ++k) {
    const uint32_t lp = lau * ppa_ + k;
    const uint32_t pp = ftl_.locate(lp);
    if (pp == FlashTranslationLayer::kUnmapped) continue;
    pages.push_back(lp);
    add_source(pp / ppa_);
  }
  data_of_[lau] = log_of_[lau] = -1;
  if (!pages.empty()) {
    CARDFS_ASSIGN_OR_RETURN(uint32_t fresh, ftl_.allocate());
    ftl_.set_role(fresh, AuRole::kData);
    ftl_.aus()[fresh].owner = lau;
    ++ftl_.counters().merges;
    CARDFS_RETURN_IF_ERROR(ftl_.copy_in_place(pages, fresh));
    data_of_[lau] = int32_t(fresh);
  }
  for (uint32_t au : sources) ftl_.retire(au);
  return Status::ok();
}

bool BlockFtl::restore(uint32_t au, const AuRecord& r) {
  for (uint32_t lp : ftl_.valid_pages_of(au))
    if (lp / ppa_ != r.owner) return false;
  if (r.role == AuRole::kLog) {
    if (log_of_[r.owner] >= 0) return false;
    log_of_[r.owner] = int32_t(au);
    lru_.push_back(r.owner);
  }
  if (r.role == AuRole::kData) {
    if (data_of_[r.owner] >= 0) return false;
    data_of_[r.owner] = int32_t(au);
  }
  return true;
}

Status BlockFtl::normalize() {
  // A logical AU whose pages sit outside its data and log AUs (a merge cut
  // short, a log closed by the power cut) is merged into one AU now.
  for (uint32_t lau = 0; lau < data_of_.size(); ++lau) {
    bool scattered = false;
    for (uint32_t k = 0; k < ppa_ && !scattered; ++k) {
      const uint32_t pp = ftl_.locate(lau * ppa_ + k);
      if (pp == FlashTranslationLayer::kUnmapped) continue;
      const int32_t au = int32_t(pp / ppa_);
      scattered = au != data_of_[lau] && au != log_of_[lau];
    }
    if (scattered) {
      if (log_of_[lau] >= 0) lru_.erase(std::find(lru_.begin(), lru_.end(), lau));
      CARDFS_RETURN_IF_ERROR(merge_all(lau));
    }
  }
  return Status::ok();
}

}  // namespace

std::unique_ptr<FtlPolicy> make_block_ftl(FlashTranslationLayer& ftl) { return std::make_unique<BlockFtl>(ftl); }

}  // namespace cardfs::sdcard
