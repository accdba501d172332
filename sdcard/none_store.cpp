// The none store: accounting only. The card's model runs as on any store
// (map, valid pages, wear, device time), but no byte is kept: programs
// and moves are dropped, reads return zeros. What replay uses to run a
// trace against a profile at the model's own speed.
#include <cstring>

#include "sdcard/page_store.h"

namespace cardfs::sdcard {
namespace {

class NoneStore final : public PageStore {
 public:
  NoneStore() = default;
  explicit NoneStore(std::unique_ptr<PageStore> origin) : origin_(std::move(origin)) {}
  const std::string& name() const override { return name_; }
  bool keeps_data() const override { return false; }
  bool compact_merges() const override { return true; }
  Status format(const ImageHeader& h) override {
    page_bytes_ = h.geometry.page_bytes;
    return Status::ok();
  }
  Result<ImageHeader> read_header() override {
    if (!origin_) return unopenable();
    return origin_->read_header();
  }
  Result<StoredMap> read_map(const ImageHeader& h, const ScanProgress& progress) override {
    if (!origin_) return unopenable();
    page_bytes_ = h.geometry.page_bytes;
    return origin_->read_map(h, progress);
  }
  Status write_header(const ImageHeader&) override { return Status::ok(); }
  Status write_checkpoint(const CheckpointView&) override { return Status::ok(); }
  Status write(std::span<const PageWrite>) override { return Status::ok(); }
  Status read(std::span<const FlashRead> reads) override {
    for (const FlashRead& r : reads)
      for (const iovec& v : r.iov) std::memset(v.iov_base, 0, v.iov_len);
    return Status::ok();
  }
  Status read_checked(std::span<const PageRead> pages, std::vector<PageFault>&) override {
    for (const PageRead& p : pages) std::memset(p.dest, 0, page_bytes_);
    return Status::ok();
  }
  Status erase(uint32_t) override { return Status::ok(); }
  Status prepare(uint32_t) override { return Status::ok(); }
  Status sync() override { return Status::ok(); }

 private:
  static Status unopenable() {
    return Status::error(EINVAL, "a dataless (none) store keeps no card to open");
  }
  std::unique_ptr<PageStore> origin_;  // where an open reads the card's state, never written
  std::string name_ = "none";
  uint32_t page_bytes_ = 0;  // of the card formatted or opened
};

}  // namespace

std::unique_ptr<PageStore> none_store() { return std::make_unique<NoneStore>(); }

std::unique_ptr<PageStore> none_store_from(std::unique_ptr<PageStore> origin) {
  return std::make_unique<NoneStore>(std::move(origin));
}

}  // namespace cardfs::sdcard
