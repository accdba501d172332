// Flash: the card's NAND as the model sees it — programs, moves, reads and
// erases, each counted and charged on the profile's timing, with the
// power-cut behaviour; the bytes go to a PageStore (sdcard/page_store.h).
//
// Programs and merge/GC moves are queued and handed to the store by
// submit() as one batch, in order; reads and erase() submit
// first, so they always see every earlier program. Every operation charges
// its device time and counts itself in the CardCounters it was given,
// whatever the store keeps.
//
// Power cut: once armed, only `programs_left` more page programs reach the
// store; the next one is torn (half its data, with its OOB) or dropped,
// and from then on every operation fails with EIO.
// Not thread-safe: the Card calls it under its state lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/status.h"
#include "sdcard/card.h"
#include "sdcard/geometry.h"
#include "sdcard/page_store.h"
#include "sdcard/profiles.h"

namespace cardfs::sdcard {

enum class ProgramCause { kHost, kMerge };


class Flash {
 public:
  Flash(PageStore& store, const Profile& profile, const Geometry& g, CardCounters& counters);

  // Queues a program of page_bytes at `data` (valid until submit()).
  Status program(uint64_t physical_page, const std::byte* data, OobRecord oob, ProgramCause cause);
  // The next host program of logical page lp is of a page the host only
  // partly rewrote (PageWrite::fresh_units, keeps_old): the store may keep
  // only its fresh parts. `damaged`: the copy it keeps the rest of failed
  // its check, so the new copy is recorded uncorrectable (OobRecord): a
  // damaged page stays unreadable until the host rewrites all of it. Said
  // by the Card before the FTL programs the page; forgotten by
  // forget_partial_writes() (after each drain).
  void note_partial_write(uint32_t lp, uint32_t fresh_units, bool keeps_old, bool damaged);
  void forget_partial_writes() { partial_.clear(); }
  // Queues a merge/GC move of physical page `from` (valid, programmed
  // earlier) to `to`: counted and charged as a program of cause kMerge.
  Status copy(uint64_t from, uint64_t to, OobRecord oob);
  Status submit();
  // Whether programs and moves are only counted and charged: the store
  // keeps nothing, no power cut is armed, power is on.
  bool counts_only() const { return !queue_writes_ && !cut_armed_ && !powered_off_; }
  // Counts and charges n merge moves (counts_only() must hold).
  void charge_moves(uint64_t n);
  // Reads whole pages and checks each as a card's ECC does (the store's
  // read_checked); charged as flash page reads. A page that fails fails the
  // read with EIO, counted in CardCounters::ecc_errors and logged once per
  // logical page.
  Status read(std::span<const PageRead> pages);
  // Reads and checks pages as read() does, but only tells which fail (their
  // indices in `pages`): a patrol read, neither counted nor charged.
  Result<std::vector<size_t>> patrol(std::span<const PageRead> pages);
  // What the last read() or patrol() found wrong, by index in its pages.
  std::span<const PageFault> last_faults() const { return faults_; }
  // Counts an unreadable page read and logs it the first time for this
  // logical page; the EIO to fail the read with. `physical_page` < 0: the
  // map lost the page's copy (its OOB record was damaged).
  Status unreadable(uint32_t logical_page, int64_t physical_page, const std::string& why);
  // The current copies of pages the host partly rewrote, read whole and
  // checked as read() checks them (read-modify-write): charged as flash
  // page reads, but a failure is not the host's read error (not counted,
  // not logged): the indices in `pages` of those that fail. A store that
  // keeps no data is not read (charged all the same).
  Result<std::vector<size_t>> read_for_rewrite(std::span<const PageRead> pages);
  // Erases an AU; charges the erase time.
  Status erase(uint32_t physical_au);
  // The FTL is about to program this AU (the store may allocate it); no
  // device time is charged.
  Status prepare(uint32_t physical_au);

  void arm_power_cut(uint64_t programs_left, bool tear);
  // Power fails now: queued programs are lost.
  void power_off() {
    clear_queue();
    (void)store_.finish_writes();  // what reached the image before stays
    powered_off_ = true;
  }
  bool powered_off() const { return powered_off_; }
  // Where a physical page starts in the flash's address space (FlashRead).
  uint64_t address(uint64_t physical_page) const { return physical_page * geometry_.page_bytes; }

 private:
  Status power_cut_error() const;
  Status queue_page(const PageWrite& q, ProgramCause cause);

  PageStore& store_;
  // A store that keeps nothing gets nothing: programs and moves are
  // counted and charged, not queued (the queue only feeds the store).
  const bool queue_writes_;
  const Profile& profile_;
  const Geometry geometry_;
  CardCounters& counters_;
  std::vector<PageWrite> queue_;
  // Per physical page: the destination of a move in queue_ (a bit, not a
  // hash set: a merge queues a few hundred moves, each an insert).
  std::vector<bool> queued_move_target_;
  void clear_queue();
  std::vector<iovec> read_iovs_;
  std::vector<FlashRead> reads_;
  std::vector<PageFault> faults_;
  std::unordered_set<uint32_t> reported_;  // logical pages already logged unreadable
  struct Partial {
    uint32_t fresh_units;
    bool keeps_old;
    bool damaged;
  };
  std::unordered_map<uint32_t, Partial> partial_;  // by logical page: note_partial_write
  bool cut_armed_ = false;
  bool tear_ = false;
  uint64_t programs_left_ = 0;
  bool powered_off_ = false;
};

}  // namespace cardfs::sdcard
