// ImageStore: the PageStore of the image format (sdcard/image_format.h)
// over a Medium — the image file, or memory for tests. Internal to sdcard/.
//
// Every program writes the page's data and its OOB record (magic, logical
// page, sequence number, erase count, CRC-32C of the data) in one batch;
// a move copies the bytes inside the medium (runs of neighbouring pages
// at once) and its record carries the source record's CRC, so the data is
// not checksummed again. An erase zeroes the AU's OOB records. Opening
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
  Status erase(uint32_t physical_au) override;
  Status prepare(uint32_t physical_au) override;
  Status sync() override { return medium_->sync(); }

 private:
  void set_geometry(const Geometry& g);
  uint64_t data_offset(uint64_t physical_page) const {
    return layout_.flash_offset + physical_page * geometry_.page_bytes;
  }
  Result<std::optional<Checkpoint>> load_checkpoint();
  Result<std::vector<ScannedPage>> scan(uint64_t checkpoint_seq);
  static bool joins(std::span<const PageWrite> q, size_t i, uint32_t page_bytes);
  std::vector<IoOp> record_runs(std::span<const PageWrite> q, uint64_t PageWrite::*page_of,
                                std::byte* records, std::vector<iovec>& iovs) const;
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
  std::vector<std::byte> erased_oob_;  // an AU's OOB records, erased (zeros)
  std::vector<std::byte> page_scratch_;
};

}  // namespace cardfs::sdcard
