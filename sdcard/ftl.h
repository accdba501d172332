// FlashTranslationLayer: maps logical flash pages to physical ones and
// decides where each program goes, as an SD card's firmware does.
//
// The map is page-granular (so reads and the power-on scan are uniform);
// where writes go is an FtlPolicy's (sdcard/ftl_policy.h), the profile's:
// - Block FTL (cheap cards, seed 004): each logical AU has at most one data
//   AU and, while open, one log AU taking its writes. At most
//   profile.open_aus logs exist; writing elsewhere closes the least
//   recently used one. Closing merges: if the log holds every page at its
//   own offset, the data AU's still-valid pages are copied into the log's
//   free slots (the SD performance model's "move" of Nu used units);
//   otherwise every valid page is copied into a fresh AU.
//   (ftl_block.cpp)
// - Page FTL (A1/A2): one write point takes all writes; greedy garbage
//   collection copies the valid pages of the AU with the fewest.
//   (ftl_page.cpp)
// Retired AUs wait in an erase queue; fresh AUs are the free ones with the
// lowest erase count (wear levelling).
// Not thread-safe: the Card calls it under its state lock.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "base/status.h"
#include "sdcard/card.h"
#include "sdcard/flash.h"
#include "sdcard/ftl_policy.h"
#include "sdcard/geometry.h"
#include "sdcard/image_format.h"
#include "sdcard/profiles.h"

namespace cardfs::sdcard {

class FlashTranslationLayer {
 public:
  static constexpr uint32_t kUnmapped = 0xFFFF'FFFF;

  FlashTranslationLayer(const Profile& p, const Geometry& g, Flash& flash, CardCounters& counters);
  ~FlashTranslationLayer();

  // Programs logical page lp with page_bytes at data (valid until the next
  // flash submit()). May close AUs, merge, collect garbage and erase.
  Status write_page(uint32_t lp, const std::byte* data);
  // The physical page holding lp, or kUnmapped.
  uint32_t locate(uint32_t lp) const { return map_[lp] - 1; }
  // Whether lp has data the card can no longer find: the checkpoint names
  // a copy that no valid OOB record holds (its record was damaged). Such
  // a page is unmapped but keeps its sequence number, so later checkpoints
  // keep it lost; reading it fails (EIO) until it is written or trimmed.
  bool lost(uint32_t lp) const { return map_[lp] == 0 && seq_[lp] != 0; }
  // Unmaps lp (trim). Durable once a checkpoint is written.
  void trim_page(uint32_t lp);
  // lp's copy turned out not to be named by its record (a read found it):
  // lp becomes lost, as the power-on scan would have left it.
  void mark_lost(uint32_t lp);
  bool trims_pending() const { return trims_pending_; }
  // Nothing was ever programmed or restored since this FTL was made (a
  // new card's): no page is mapped or lost, so no trim changes anything.
  bool untouched() const { return untouched_; }

  // Called before AUs are erased. The Card makes the copies that replace
  // them durable (durable mode) and, while trims are pending, writes a
  // checkpoint so that a trimmed page's older copies cannot come back
  // after a power cut.
  void set_before_erase_hook(std::function<Status()> hook) { before_erase_ = std::move(hook); }
  // Views the FTL's sequence numbers (valid until the FTL changes).
  CheckpointView make_checkpoint(uint64_t generation) const;
  void checkpoint_written() { trims_pending_ = false; }

  // Rebuilds the state from a power-on scan (one entry per physical page;
  // torn pages already marked kCorrupt) and the newest checkpoint, if any.
  // No I/O; call normalize() afterwards (it may merge) unless read-only.
  void rebuild(const std::vector<ScannedPage>& scan, const Checkpoint* ckpt);
  // The same from a clean close's checkpoint and holders (one per physical
  // page, as the clean map stores them: CleanMap::encode_holder of kErased,
  // kStale or the logical page whose valid copy it is; checked against
  // ckpt by the store): the state a scan of that card would rebuild,
  // without one. Takes ckpt's page sequence numbers and the holders as its
  // own arrays (64 GiB: 48 MiB not copied; zero pages where nothing is).
  // `held`: the runs of physical pages that may not be erased (the others'
  // entries are zero and are not read).
  void restore_clean(Checkpoint&& ckpt, ZeroedArray&& holders, std::span<const Extent> held);
  // Each physical page's holder, as restore_clean takes them (a clean close).
  std::span<const uint32_t> page_holders() const { return slot_.span(); }
  Status normalize();

  uint64_t programs() const { return next_seq_ - 1; }
  // Of them, moves by copy_in_place since this FTL was built (a store
  // with compact_merges() keeps each call's moves as one merge entry).
  uint64_t in_place_moves() const { return in_place_moves_; }
  std::vector<AuState> au_states() const;

  // ---- For placement policies (ftl_policy.h): the shared mechanism.
  struct PhysAu {
    AuRole role = AuRole::kFree;
    uint32_t owner = 0;  // logical AU (block FTL)
    uint32_t erase_count = 0;
    uint32_t valid = 0;
    uint32_t programmed = 0;
    uint32_t spill = 0;   // block log: next slot to try, counting down
    bool in_place = true;
  };
  const Profile& profile() const { return profile_; }
  const Geometry& geometry() const { return geometry_; }
  uint32_t pages_per_au() const { return ppa_; }
  Flash& flash() { return flash_; }
  CardCounters& counters() { return counters_; }
  std::vector<PhysAu>& aus() { return aus_; }
  uint32_t free_count() const { return free_count_; }
  size_t erasing_count() const { return erase_queue_.size(); }
  bool slot_erased(uint32_t au, uint32_t slot) const { return slot_[page_of(au, slot)] == kErased; }
  // Programs lp at (au, slot) with `data`, or with lp's current copy when
  // data is nullptr (a merge/GC move: the flash copies it page to page).
  Status program(uint32_t lp, uint32_t au, uint32_t slot, const std::byte* data, ProgramCause cause);
  // A free AU with the lowest erase count, prepared for programs
  // (draining the erase queue when one free AU is left); ENOSPC.
  Result<uint32_t> allocate();
  void set_role(uint32_t au, AuRole role);
  // Queues au for erase (its pages must be stale).
  void retire(uint32_t au);
  // Moves the valid `pages` (logical page numbers) each to its own offset
  // in `au` (kMerge), then submits.
  Status copy_in_place(const std::vector<uint32_t>& pages, uint32_t au);
  // The logical pages au holds a valid copy of, in slot order.
  std::vector<uint32_t> valid_pages_of(uint32_t au) const;

 private:
  // A physical page's holder in slot_ is stored as the clean map stores it
  // (CleanMap::encode_holder): zero, what a fresh array holds, is erased.
  static constexpr uint32_t kErased = 0;
  static constexpr uint32_t kStale = 1;
  static constexpr uint32_t held(uint32_t lp) { return lp + 2; }
  // The logical page of a held slot_ entry.
  static constexpr uint32_t holder_lp(uint32_t v) { return v - 2; }
  // Fresh arrays: every page unmapped, every physical page erased.
  void reset_maps();

  uint64_t page_of(uint32_t au, uint32_t slot) const { return uint64_t(au) * ppa_ + slot; }
  // The AU of a physical page: a shift when pages per AU is a power of
  // two (every profile's), sparing a division per page moved.
  uint32_t au_of(uint64_t pp) const { return ppa_shift_ >= 0 ? uint32_t(pp >> ppa_shift_) : uint32_t(pp / ppa_); }
  void invalidate(uint32_t lp);
  Status drain_erase_queue();
  // Rebuild helpers (ftl_rebuild.cpp).
  void reset_roles();
  bool restore_roles(const Checkpoint& ckpt);
  void derive_roles();

  const Profile& profile_;
  const Geometry geometry_;
  const uint32_t ppa_;
  const int ppa_shift_;  // log2(ppa_), or -1
  Flash& flash_;
  CardCounters& counters_;
  // In zero pages, zero their initial state: a large card's pages never
  // used are never touched (65 MB for 64 GiB were filled at every open).
  ZeroedArray map_;               // logical page -> physical page + 1 (0: unmapped)
  ZeroedArrayOf<uint64_t> seq_;   // logical page -> seq of its valid copy (0: none)
  ZeroedArray slot_;              // physical page -> kErased, kStale, held(logical page)
  std::vector<PhysAu> aus_;
  std::vector<uint32_t> erase_queue_;
  uint32_t free_count_ = 0;
  uint64_t next_seq_ = 1;
  uint64_t in_place_moves_ = 0;
  bool trims_pending_ = false;
  bool untouched_ = true;
  std::function<Status()> before_erase_;
  std::unique_ptr<FtlPolicy> policy_;  // last: it refers to the state above
};

}  // namespace cardfs::sdcard
