// ImageStore: the PageStore of the image format (sdcard/image_format.h)
// over a Medium — the image file, or memory for tests. Internal to sdcard/.
//
// Every program writes the page's data into a data slot (sdcard/data_slots.h)
// and its OOB record (magic, logical page, sequence number, erase count,
// CRC-32C of the data, the slot) in one batch; a move writes only a record:
// the moved page names its source's slot and carries its CRC, so the data
// is neither copied nor checksummed again (a source whose record is
// damaged gives a copy marked uncorrectable). A torn move (a power cut)
// gets a slot of its own with half the data. A checked read (read_checked)
// reads whole pages with their records and judges each as a card's ECC
// would. An erase writes the AU's next erase generation (version 4,
// image_erase_table.cpp; earlier versions zero the AU's OOB records) and
// frees the slots no other page names. Opening reads the header, the newest valid checkpoint and
// the OOB region (rebuilding the slot map), and checks the data CRC of
// every page newer than the checkpoint. Version 1 images (no backup
// header, no slots) keep every page's data at its own place: their moves
// copy the bytes, as before version 3.
// Not thread-safe: the Card calls it under its state lock.
#pragma once

#include <memory>
#include <vector>

#include "sdcard/data_slots.h"
#include "sdcard/medium.h"
#include "sdcard/page_store.h"

namespace cardfs::sdcard {

class ImageStore final : public PageStore {
 public:
  // `medium` may be shared (memory kept for a later open); it must
  // outlive this store.
  explicit ImageStore(std::shared_ptr<Medium> medium);

  const std::string& name() const override { return medium_->path(); }
  bool keeps_data() const override { return true; }
  Status format(const ImageHeader& h) override;
  Result<ImageHeader> read_header() override;
  Result<StoredMap> read_map(const ImageHeader& h, const ScanProgress& progress) override;
  Status write_header(const ImageHeader& h) override;
  Status write_checkpoint(const Checkpoint& c) override;
  Status write(std::span<const PageWrite> batch) override;
  Status read(std::span<const FlashRead> reads) override;
  Status read_checked(std::span<const PageRead> pages, std::vector<PageFault>& faults) override;
  Status erase(uint32_t physical_au) override;
  Status prepare(uint32_t physical_au) override;
  Status sync() override { return medium_->sync(); }
  Result<std::vector<std::string>> repair(const ImageHeader& h) override;
  uint64_t bytes_written() const override { return bytes_written_; }
  // Slots holding data that some page not erased names (tests).
  uint64_t slots_in_use() const { return slots_.slots_in_use(); }

 private:
  void set_geometry(const ImageHeader& h);
  Result<ImageHeader> read_backup_header(uint64_t size);
  // Where a data slot starts in the medium (slot n: the place of physical page n).
  uint64_t slot_offset(uint64_t slot) const { return layout_.flash_offset + slot * geometry_.page_bytes; }
  // A slot for new data of page pp: pp's own in a version 1 image.
  uint32_t new_slot(uint64_t pp) { return indirect_ ? slots_.allocate(pp) : uint32_t(pp); }
  Status write_counted(std::span<const IoOp> ops);
  Status write_counted_at(uint64_t offset, std::span<const std::byte> data);
  static uint64_t bytes_of(std::span<const IoOp> ops);
  Result<std::optional<Checkpoint>> load_checkpoint();
  Result<std::vector<ScannedPage>> scan(uint64_t checkpoint_seq, const ScanProgress& progress);
  // The erase table (version 4, image_erase_table.cpp): reads it into
  // erase_generations_ and marks erased the scanned records of an older
  // generation than their AU's.
  Status apply_erase_table(std::vector<ScannedPage>& scan);
  uint32_t generation_of_page(uint64_t pp) const {
    return erase_generations_[pp / geometry_.pages_per_au] & kGenerationMask;
  }
  // Whether a record of physical page pp belongs to an erase of its AU
  // since it was programmed (version 4; earlier versions zero the record).
  bool erased_since(uint64_t pp, const OobRecord& r) const {
    return erase_table_ && r.generation != generation_of_page(pp);
  }
  Status erase_by_generation(uint32_t physical_au);
  // Version 2 or 3 to 4: the file grows by the erase and unit tables (all
  // zero: generation 0, which the records carry) and the backup header
  // moves to the new end. A version 2 or 3 header over a file of version
  // 4's size is such an upgrade cut short: it opens, and is redone.
  Status upgrade();
  bool upgrade_interrupted(uint64_t size) const;
  // Whether q[i] continues q[i - 1]'s run in the medium: the next slot
  // (and, for copies, the next source slot), the previous page whole.
  bool joins(std::span<const PageWrite> q, size_t i) const;
  // One I/O per run of consecutive pages (page_at(i), i < n) over their
  // OOB records, entry i at records + i * kOobBytes; `iovs` holds what the
  // ops point to and must outlive them.
  template <typename PageAt>
  std::vector<IoOp> record_runs(size_t n, PageAt page_at, std::byte* records, std::vector<iovec>& iovs) const;
  // Why a page read with its record fails the card's check, or "".
  std::string fault_of(const PageRead& r, const std::byte* record) const;
  std::vector<IoOp> oob_ops_of(std::span<const PageWrite> q);
  Status write_programs(std::span<const PageWrite> q);
  Status write_copies(std::span<const PageWrite> q);
  Status copy_data(std::span<const PageWrite> q);  // the bytes of torn moves and version 1 moves
  // The data CRCs of the copies' sources, from their OOB records.
  Status source_crcs(std::span<const PageWrite> q);

  std::shared_ptr<Medium> medium_;
  Geometry geometry_;
  ImageLayout layout_;
  std::vector<std::byte> oob_scratch_;
  std::vector<iovec> oob_iovs_;
  std::vector<IoOp> oob_ops_;
  std::vector<IoOp> read_ops_;
  std::vector<uint32_t> source_crc_;
  std::vector<bool> source_bad_;  // the copy's record gets OobRecord::uncorrectable
  std::vector<std::byte> read_records_;  // read_checked's working storage
  std::vector<iovec> read_iovs_;
  std::vector<std::byte> erased_oob_;  // an AU's OOB records, erased (zeros)
  std::vector<std::byte> page_scratch_;
  DataSlots slots_;
  std::vector<uint32_t> batch_slots_;     // the slot of each entry of the batch being written
  std::vector<uint32_t> batch_sources_;   // the slot each entry's data comes from (copies)
  std::vector<iovec> split_iovs_;         // read(): the caller's iovecs split at page boundaries
  bool indirect_ = true;  // moves share slots (version >= 2); false: version 1, moves copy
  uint32_t version_ = kImageVersion;
  bool erase_table_ = true;  // version 4: erases write generations, not zeroed records
  std::vector<uint32_t> erase_generations_;  // per physical AU (version 4)
  uint64_t bytes_written_ = 0;
  bool primary_damaged_ = false;  // read_header() used the backup copy
  static constexpr size_t kCheckpointBlock = 4096;
  std::vector<uint64_t> checkpoint_sums_[2];  // per slot: a sum of each block last written there
};

}  // namespace cardfs::sdcard
