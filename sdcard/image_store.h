// ImageStore: the PageStore of the image format (sdcard/image_format.h)
// over a Medium — the image file, or memory for tests. Internal to sdcard/.
//
// Every program writes the page's data and its OOB record (magic, logical
// page, sequence number, erase count, CRC-32C of the data) in one batch;
// a move copies the bytes inside the medium (runs of neighbouring pages
// at once) and its record carries the source record's CRC, so the data is
// not checksummed again (a source whose record is damaged gives a copy
// marked uncorrectable). A checked read (read_checked) reads whole pages
// with their records and judges each as a card's ECC would. An erase
// zeroes the AU's OOB records. Opening
// reads the header, the newest valid checkpoint and the OOB region, and
// checks the data CRC of every page newer than the checkpoint.
// Not thread-safe: the Card calls it under its state lock.
#pragma once

#include <memory>
#include <vector>

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
  Result<StoredMap> read_map(const ImageHeader& h) override;
  Status write_header(const ImageHeader& h) override;
  Status write_checkpoint(const Checkpoint& c) override;
  Status write(std::span<const PageWrite> batch) override;
  Status read(std::span<const FlashRead> reads) override;
  Status read_checked(std::span<const PageRead> pages, std::vector<PageFault>& faults) override;
  Status erase(uint32_t physical_au) override;
  Status prepare(uint32_t physical_au) override;
  Status sync() override { return medium_->sync(); }
  Result<std::vector<std::string>> repair(const ImageHeader& h) override;

 private:
  void set_geometry(const ImageHeader& h);
  Result<ImageHeader> read_backup_header(uint64_t size);
  uint64_t data_offset(uint64_t physical_page) const {
    return layout_.flash_offset + physical_page * geometry_.page_bytes;
  }
  Result<std::optional<Checkpoint>> load_checkpoint();
  Result<std::vector<ScannedPage>> scan(uint64_t checkpoint_seq);
  static bool joins(std::span<const PageWrite> q, size_t i, uint32_t page_bytes);
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
  bool primary_damaged_ = false;  // read_header() used the backup copy
};

}  // namespace cardfs::sdcard
