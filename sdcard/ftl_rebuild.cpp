// Power-on: rebuilding the FTL from the out-of-band scan and a checkpoint.
#include <algorithm>

#include "sdcard/ftl.h"

namespace cardfs::sdcard {

void FlashTranslationLayer::rebuild(const std::vector<ScannedPage>& scan, const Checkpoint* ckpt) {
  reset_maps();
  untouched_ = false;
  std::fill(aus_.begin(), aus_.end(), PhysAu{});
  for (PhysAu& a : aus_) a.spill = ppa_ - 1;
  uint64_t max_seq = 0;
  // The newest valid copy of each logical page (its seq is its record's:
  // no array of them, 32 MiB on a 64 GiB card).
  std::vector<uint32_t> best(map_.size(), kUnmapped);
  auto best_seq = [&](uint32_t lp) { return best[lp] == kUnmapped ? 0 : scan[best[lp]].oob.seq; };
  std::vector<uint32_t> named(ckpt ? map_.size() : 0, kUnmapped);  // the checkpoint's copy
  for (uint64_t pp = 0; pp < scan.size(); ++pp) {
    const ScannedPage& s = scan[pp];
    if (s.state == OobState::kErased) continue;
    PhysAu& a = aus_[pp / ppa_];
    ++a.programmed;
    slot_[pp] = kStale;
    if (s.torn) max_seq = std::max(max_seq, s.oob.seq);
    if (s.state != OobState::kValid) continue;
    max_seq = std::max(max_seq, s.oob.seq);
    a.erase_count = std::max(a.erase_count, s.oob.erase_count);
    const uint32_t lp = s.oob.logical_page;
    if (lp >= map_.size()) continue;
    if (s.oob.seq > best_seq(lp)) best[lp] = uint32_t(pp);
    if (ckpt && s.oob.seq == ckpt->page_seq[lp]) named[lp] = uint32_t(pp);
  }
  for (uint32_t lp = 0; lp < map_.size(); ++lp) {
    uint32_t pp = best[lp];
    // A copy the checkpoint already covers counts only if it is the one it
    // names. Any other covered copy is older than a trim, or a torn program
    // whose data check the checkpoint now skips: the named copy is the
    // page's data. If the named copy is gone (its OOB record damaged), the
    // page stays lost (reads fail) rather than reading as zeros or older data.
    if (ckpt && best_seq(lp) <= ckpt->seq && ckpt->page_seq[lp] != best_seq(lp)) {
      pp = named[lp];
      if (pp == kUnmapped) seq_[lp] = ckpt->page_seq[lp];
    }
    if (pp == kUnmapped) continue;
    map_[lp] = pp + 1;
    seq_[lp] = scan[pp].oob.seq;
    slot_[pp] = held(lp);
    ++aus_[pp / ppa_].valid;
  }
  next_seq_ = max_seq + 1;
  if (ckpt) {
    next_seq_ = std::max(next_seq_, ckpt->next_seq);
    for (size_t i = 0; i < aus_.size(); ++i)
      aus_[i].erase_count = std::max(aus_[i].erase_count, ckpt->aus[i].erase_count);
  }
  reset_roles();
  // The checkpoint's roles hold only if nothing was programmed after it.
  if (!(ckpt && max_seq <= ckpt->seq && restore_roles(*ckpt))) derive_roles();
}

// After a clean close every copy is one the checkpoint covers, so the
// scan's rebuild comes to this: each held page maps its logical page with
// the sequence number the checkpoint names; a checkpointed page no page
// holds stays lost (its record was damaged before); erase counts, the
// next sequence number and the roles are the checkpoint's.
void FlashTranslationLayer::restore_clean(Checkpoint&& ckpt, ZeroedArray&& holders, std::span<const Extent> held) {
  map_.reset(geometry_.user_pages());
  untouched_ = false;
  seq_ = std::move(ckpt.page_seq);
  std::fill(aus_.begin(), aus_.end(), PhysAu{});
  for (size_t i = 0; i < aus_.size(); ++i) {
    aus_[i].spill = ppa_ - 1;
    aus_[i].erase_count = ckpt.aus[i].erase_count;
  }
  slot_ = std::move(holders);
  for (const Extent& run : held) {
    for (uint64_t pp = run.offset; pp < std::min(run.offset + run.length, slot_.size()); ++pp) {
      const uint32_t h = slot_[pp];
      if (h == kErased) continue;
      PhysAu& a = aus_[au_of(pp)];
      ++a.programmed;
      if (h == kStale) continue;
      map_[holder_lp(h)] = uint32_t(pp + 1);
      ++a.valid;
    }
  }
  next_seq_ = ckpt.next_seq;
  reset_roles();
  if (!restore_roles(ckpt)) derive_roles();
}

// Every AU free, the erase queue and the policy's placement forgotten.
void FlashTranslationLayer::reset_roles() {
  policy_->reset();
  erase_queue_.clear();
  free_count_ = uint32_t(aus_.size());
  for (PhysAu& a : aus_) a.role = AuRole::kFree;
}

bool FlashTranslationLayer::restore_roles(const Checkpoint& ckpt) {
  for (uint32_t au = 0; au < aus_.size(); ++au) {
    const AuRecord& r = ckpt.aus[au];
    if (r.role == AuRole::kFree && aus_[au].programmed != 0) return false;
    if ((r.role == AuRole::kFree || r.role == AuRole::kErasing) && aus_[au].valid != 0) return false;
    if (!policy_->restore(au, r)) return false;
  }
  for (uint32_t au = 0; au < aus_.size(); ++au) {
    const AuRecord& r = ckpt.aus[au];
    set_role(au, r.role);
    aus_[au].owner = r.owner;
    aus_[au].in_place = r.in_place;
    if (r.role == AuRole::kErasing) erase_queue_.push_back(au);
  }
  return policy_->restored();
}

void FlashTranslationLayer::derive_roles() {
  reset_roles();
  for (uint32_t au = 0; au < aus_.size(); ++au) {
    PhysAu& a = aus_[au];
    if (a.programmed == 0) continue;
    if (a.valid == 0) {
      retire(au);
      continue;
    }
    set_role(au, AuRole::kData);
    a.owner = valid_pages_of(au).front() / ppa_;
    policy_->derived(au, a.owner);
  }
}

Status FlashTranslationLayer::normalize() { return policy_->normalize(); }

}  // namespace cardfs::sdcard
