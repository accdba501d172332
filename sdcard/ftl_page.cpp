// The page-mapped FTL of A1/A2 cards: one write point takes every write;
// greedy garbage collection copies the valid pages of the AU with the
// fewest to the write point and erases it.
#include "sdcard/ftl.h"

namespace cardfs::sdcard {
namespace {

// Garbage is collected while fewer AUs than this are free or waiting for
// erase: one for the write point, one for GC's copies.
constexpr uint32_t kGcReserve = 3;

class PageFtl final : public FtlPolicy {
 public:
  explicit PageFtl(FlashTranslationLayer& ftl) : ftl_(ftl) {}

  Status write(uint32_t lp, const std::byte* data) override {
    if (ftl_.free_count() + ftl_.erasing_count() < kGcReserve) CARDFS_RETURN_IF_ERROR(collect_garbage());
    return append(lp, data, ProgramCause::kHost);
  }

  void reset() override { write_point_ = -1; }
  bool restore(uint32_t au, const AuRecord& r) override {
    if (r.role != AuRole::kLog) return true;
    if (write_point_ >= 0) return false;  // one write point only
    write_point_ = au;
    return true;
  }
  bool restored() override { return true; }
  void derived(uint32_t, uint32_t) override {}
  bool owns_aus() const override { return false; }

 private:
  // Programs lp at the write point (data nullptr: moves its current copy),
  // opening a fresh one when it is full.
  Status append(uint32_t lp, const std::byte* data, ProgramCause cause) {
    auto& aus = ftl_.aus();
    if (write_point_ >= 0 && aus[write_point_].programmed == ftl_.pages_per_au()) {
      ftl_.set_role(uint32_t(write_point_), AuRole::kData);
      write_point_ = -1;
    }
    if (write_point_ < 0) {
      CARDFS_ASSIGN_OR_RETURN(uint32_t au, ftl_.allocate());
      ftl_.set_role(au, AuRole::kLog);
      write_point_ = au;
      ++ftl_.counters().au_opens;
    }
    const uint32_t wp = uint32_t(write_point_);
    return ftl_.program(lp, wp, aus[wp].programmed, data, cause);
  }

  Status copy_to_write_point(const std::vector<uint32_t>& pages) {
    for (const uint32_t lp : pages) CARDFS_RETURN_IF_ERROR(append(lp, nullptr, ProgramCause::kMerge));
    return ftl_.flash().submit();
  }

  // The data AU with the fewest valid pages (then the least worn).
  int64_t victim() {
    const auto& aus = ftl_.aus();
    int64_t v = -1;
    for (uint32_t au = 0; au < aus.size(); ++au) {
      if (aus[au].role != AuRole::kData) continue;
      if (v < 0 || aus[au].valid < aus[v].valid ||
          (aus[au].valid == aus[v].valid && aus[au].erase_count < aus[v].erase_count))
        v = au;
    }
    return v;
  }

  Status collect_garbage() {
    Status st;
    while (st.is_ok() && ftl_.free_count() + ftl_.erasing_count() < kGcReserve) {
      const int64_t v = victim();
      if (v < 0 || ftl_.aus()[v].valid == ftl_.pages_per_au()) break;  // nothing to gain
      ++ftl_.counters().merges;
      st = copy_to_write_point(ftl_.valid_pages_of(uint32_t(v)));
      if (st.is_ok()) ftl_.retire(uint32_t(v));
    }
    return st;
  }

  FlashTranslationLayer& ftl_;
  int64_t write_point_ = -1;
};

}  // namespace

std::unique_ptr<FtlPolicy> make_page_ftl(FlashTranslationLayer& ftl) { return std::make_unique<PageFtl>(ftl); }

}  // namespace cardfs::sdcard
