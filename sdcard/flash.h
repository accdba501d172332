// Flash: the card's NAND as physical pages inside the image file.
//
// Programs are queued and written by submit() as one io_uring batch
// (runs of neighbouring pages become one vectored write; their OOB records
// one write after the data). Merge and GC moves are queued as copies: the
// image copies the bytes from page to page (runs of neighbouring pages at
// once) and the new OOB record carries the data CRC of the source's, so
// the emulator does not checksum the data again. submit() writes the
// queue in order and read() submits first, so a read or a copy always sees
// every earlier program. Every operation charges its device time and
// counts itself in the CardCounters it was given.
//
// Power cut: once armed, only `programs_left` more page programs reach the
// image; the next one is torn (half its data, with its OOB) or dropped,
// and from then on every operation fails with EIO.
// Not thread-safe: the Card calls it under its state lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"
#include "sdcard/card.h"
#include "sdcard/geometry.h"
#include "sdcard/image_file.h"
#include "sdcard/image_format.h"
#include "sdcard/profiles.h"

namespace cardfs::sdcard {

enum class ProgramCause { kHost, kMerge };

struct PageRead {
  uint64_t physical_page = 0;
  std::byte* dest = nullptr;  // page_bytes
};

class Flash {
 public:
  Flash(ImageFile& file, const Profile& profile, const Geometry& g, const ImageLayout& layout,
        CardCounters& counters);

  // Queues a program of page_bytes at `data` (valid until submit()).
  // oob.data_crc is computed by submit(), while the data is being written.
  Status program(uint64_t physical_page, const std::byte* data, OobRecord oob, ProgramCause cause);
  // Queues a merge/GC move of physical page `from` (valid, programmed
  // earlier) to `to`: counted and charged as a program of cause kMerge.
  // oob.data_crc is taken from `from`'s OOB record by submit().
  Status copy(uint64_t from, uint64_t to, OobRecord oob);
  Status submit();
  // Reads whole pages (charged as flash page reads unless `for_merge`,
  // whose cost is part of the page move).
  Status read(std::span<const PageRead> pages, bool for_merge);
  // Host reads straight into the host's buffers; `pages` flash page reads
  // are charged.
  Status read_host(std::span<const IoOp> ops, uint64_t pages);
  // Erases an AU: its OOB records are zeroed (erased pages); charges the
  // erase time.
  Status erase(uint32_t physical_au);
  // The FTL is about to program this AU: its data range is allocated in
  // the image at once (filling a hole page by page costs the host file
  // system several times more than overwriting). What it reads is
  // unchanged and no device time is charged; AUs never used stay holes.
  Status prepare(uint32_t physical_au);

  void arm_power_cut(uint64_t programs_left, bool tear);
  // Power fails now: queued programs are lost.
  void power_off() {
    queue_.clear();
    powered_off_ = true;
  }
  bool powered_off() const { return powered_off_; }
  uint64_t data_offset(uint64_t physical_page) const {
    return layout_.flash_offset + physical_page * geometry_.page_bytes;
  }

 private:
  struct QueuedProgram {
    uint64_t page;
    const std::byte* data;  // nullptr: a copy of `from`
    uint64_t from;
    uint32_t bytes;  // page_bytes, or less for a torn page
    OobRecord oob;
  };
  Status power_cut_error() const;
  Status queue_page(const QueuedProgram& q, ProgramCause cause);
  static bool joins(std::span<const QueuedProgram> q, size_t i, uint32_t page_bytes);
  std::vector<IoOp> record_runs(std::span<const QueuedProgram> q, uint64_t QueuedProgram::*page_of,
                                std::byte* records, std::vector<iovec>& iovs) const;
  Status write_programs(std::span<const QueuedProgram> q);
  Status write_copies(std::span<const QueuedProgram> q);
  // The data CRCs of the copies' sources, from their OOB records.
  Status source_crcs(std::span<const QueuedProgram> q);
  std::vector<IoOp> oob_ops_of(std::span<const QueuedProgram> q);

  ImageFile& file_;
  const Profile& profile_;
  const Geometry geometry_;
  const ImageLayout layout_;
  CardCounters& counters_;
  std::vector<QueuedProgram> queue_;
  std::vector<std::byte> oob_scratch_;
  std::vector<iovec> oob_iovs_;
  std::vector<IoOp> oob_ops_;
  std::vector<uint32_t> source_crc_;
  std::vector<std::byte> erased_oob_;  // an AU's OOB records, erased (zeros)
  std::vector<std::byte> page_scratch_;
  bool cut_armed_ = false;
  bool tear_ = false;
  uint64_t programs_left_ = 0;
  bool powered_off_ = false;
};

}  // namespace cardfs::sdcard
