#include "sdcard/ftl.h"

#include <algorithm>
#include <bit>

namespace cardfs::sdcard {

std::unique_ptr<FtlPolicy> make_ftl_policy(FtlKind kind, FlashTranslationLayer& ftl) {
  switch (kind) {
    case FtlKind::kBlock: return make_block_ftl(ftl);
    case FtlKind::kPage: return make_page_ftl(ftl);
  }
  return make_block_ftl(ftl);
}

FlashTranslationLayer::FlashTranslationLayer(const Profile& p, const Geometry& g, Flash& flash,
                                             CardCounters& counters)
    : profile_(p),
      geometry_(g),
      ppa_(g.pages_per_au),
      ppa_shift_(std::has_single_bit(g.pages_per_au) ? std::countr_zero(g.pages_per_au) : -1),
      flash_(flash),
      counters_(counters),
      aus_(g.physical_aus()),
      free_count_(g.physical_aus()),
      policy_(make_ftl_policy(p.ftl, *this)) {
  reset_maps();
  for (PhysAu& a : aus_) a.spill = ppa_ - 1;
}

void FlashTranslationLayer::reset_maps() {
  map_.reset(geometry_.user_pages());
  seq_.reset(geometry_.user_pages());
  slot_.reset(geometry_.physical_pages());
}

FlashTranslationLayer::~FlashTranslationLayer() = default;

Status FlashTranslationLayer::write_page(uint32_t lp, const std::byte* data) { return policy_->write(lp, data); }

void FlashTranslationLayer::trim_page(uint32_t lp) {
  if (map_[lp] == 0 && seq_[lp] == 0) return;
  invalidate(lp);
  seq_[lp] = 0;  // a lost page is forgotten too
  trims_pending_ = true;
}

void FlashTranslationLayer::mark_lost(uint32_t lp) {
  const uint64_t seq = seq_[lp];
  invalidate(lp);
  seq_[lp] = seq;
}

void FlashTranslationLayer::invalidate(uint32_t lp) {
  const uint32_t pp = locate(lp);
  if (pp == kUnmapped) return;
  slot_[pp] = kStale;
  --aus_[au_of(pp)].valid;
  map_[lp] = 0;
  seq_[lp] = 0;
}

Status FlashTranslationLayer::program(uint32_t lp, uint32_t au, uint32_t slot, const std::byte* data,
                                      ProgramCause cause) {
  const uint64_t pp = page_of(au, slot);
  untouched_ = false;
  OobRecord oob;
  oob.logical_page = lp;
  oob.seq = next_seq_;
  oob.erase_count = aus_[au].erase_count;
  if (data != nullptr)
    CARDFS_RETURN_IF_ERROR(flash_.program(pp, data, oob, cause));
  else
    CARDFS_RETURN_IF_ERROR(flash_.copy(locate(lp), pp, oob));
  ++next_seq_;
  invalidate(lp);
  slot_[pp] = held(lp);
  map_[lp] = uint32_t(pp + 1);
  seq_[lp] = oob.seq;
  ++aus_[au].valid;
  ++aus_[au].programmed;
  return Status::ok();
}

void FlashTranslationLayer::set_role(uint32_t au, AuRole role) {
  if (aus_[au].role == AuRole::kFree) --free_count_;
  if (role == AuRole::kFree) ++free_count_;
  aus_[au].role = role;
}

void FlashTranslationLayer::retire(uint32_t au) {
  set_role(au, AuRole::kErasing);
  erase_queue_.push_back(au);
}

Status FlashTranslationLayer::drain_erase_queue() {
  if (erase_queue_.empty()) return Status::ok();
  if (before_erase_) CARDFS_RETURN_IF_ERROR(before_erase_());
  for (uint32_t au : erase_queue_) {
    CARDFS_RETURN_IF_ERROR(flash_.erase(au));
    PhysAu& a = aus_[au];
    ++a.erase_count;
    a.valid = a.programmed = 0;
    a.in_place = true;
    a.spill = ppa_ - 1;
    a.owner = 0;
    std::fill(slot_.data() + page_of(au, 0), slot_.data() + page_of(au, ppa_), kErased);
    set_role(au, AuRole::kFree);
  }
  erase_queue_.clear();
  return Status::ok();
}

Result<uint32_t> FlashTranslationLayer::allocate() {
  if (free_count_ <= 1) CARDFS_RETURN_IF_ERROR(drain_erase_queue());
  int64_t best = -1;
  for (uint32_t au = 0; au < aus_.size(); ++au) {
    if (aus_[au].role != AuRole::kFree) continue;
    if (best < 0 || aus_[au].erase_count < aus_[best].erase_count) best = au;
  }
  if (best < 0) return Status::error(ENOSPC, "no free allocation unit left on the card");
  CARDFS_RETURN_IF_ERROR(flash_.prepare(uint32_t(best)));
  aus_[best].in_place = true;
  aus_[best].spill = ppa_ - 1;
  return uint32_t(best);
}

std::vector<uint32_t> FlashTranslationLayer::valid_pages_of(uint32_t au) const {
  // Branch-free: half the slots of a merged AU are valid, in no pattern
  // a branch predictor learns (this scan was a fifth of a replay's time).
  std::vector<uint32_t> pages(ppa_);
  const uint32_t* slots = slot_.data() + page_of(au, 0);
  size_t n = 0;
  for (uint32_t s = 0; s < ppa_; ++s) {
    pages[n] = holder_lp(slots[s]);
    n += slots[s] > kStale;
  }
  pages.resize(n);
  return pages;
}

Status FlashTranslationLayer::copy_in_place(const std::vector<uint32_t>& pages, uint32_t au) {
  in_place_moves_ += pages.size();
  untouched_ = false;
  if (flash_.counts_only()) {
    // Nothing reaches a store and no power cut is armed: the same map
    // updates and charges as program(), without a Status per page (a
    // dataless replay of random writes on a block FTL is mostly this).
    flash_.charge_moves(pages.size());
    for (const uint32_t lp : pages) {
      const uint32_t pp = uint32_t(page_of(au, lp % ppa_));
      invalidate(lp);
      slot_[pp] = held(lp);
      map_[lp] = pp + 1;
      seq_[lp] = next_seq_++;
    }
    aus_[au].valid += uint32_t(pages.size());
    aus_[au].programmed += uint32_t(pages.size());
    return Status::ok();
  }
  for (const uint32_t lp : pages)
    CARDFS_RETURN_IF_ERROR(program(lp, au, lp % ppa_, nullptr, ProgramCause::kMerge));
  return flash_.submit();
}

CheckpointView FlashTranslationLayer::make_checkpoint(uint64_t generation) const {
  CheckpointView c;
  c.generation = generation;
  c.seq = next_seq_ - 1;
  c.next_seq = next_seq_;
  c.page_seq = seq_.span();
  c.aus.reserve(aus_.size());
  for (const PhysAu& a : aus_) c.aus.push_back({a.erase_count, a.role, a.in_place, a.owner});
  return c;
}

std::vector<AuState> FlashTranslationLayer::au_states() const {
  std::vector<AuState> out;
  out.reserve(aus_.size());
  for (const PhysAu& a : aus_) {
    bool owned = policy_->owns_aus() && (a.role == AuRole::kLog || a.role == AuRole::kData);
    static const char* kRoles[] = {"free", "open", "data", "erasing"};
    out.push_back({a.erase_count, a.valid, owned ? int64_t(a.owner) : -1, kRoles[int(a.role)]});
  }
  return out;
}

}  // namespace cardfs::sdcard
