// WriteBuffer: the card's volatile RU buffer. Host writes land here, per
// flash page with a bitmap of the 512-byte sectors present; when it holds
// capacity bytes (or on flush / FUA) the Card programs every page, in the
// order they first arrived. A power cut loses it.
//
// A whole page a command brings in one host segment may be *borrowed*
// (kept as a pointer to the host's memory) instead of copied: most are
// programmed before the command returns (a full buffer drains), and the
// Card calls adopt() before returning so the rest get their own copy.
// Not thread-safe: the Card uses it under its state lock.
#pragma once

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

namespace cardfs::sdcard {

class WriteBuffer {
 public:
  static constexpr uint32_t kMaxSectorsPerPage = 128;  // 64 KiB pages
  struct Page {
    uint32_t lp = 0;
    std::bitset<kMaxSectorsPerPage> present;
    std::vector<std::byte> data;  // page_bytes
    const std::byte* borrowed = nullptr;  // the host's copy, until adopt()
    const std::byte* bytes() const { return borrowed ? borrowed : data.data(); }
  };

  WriteBuffer(uint32_t page_bytes, uint32_t capacity_bytes);

  // Where sectors [first, first+n) of page lp are to be written; marks
  // them present.
  std::byte* reserve(uint32_t lp, uint32_t first, uint32_t n);
  // Takes all of page lp from `host` (page_bytes, valid until adopt()).
  void borrow(uint32_t lp, const std::byte* host);
  // Copies every borrowed page into the buffer's own storage.
  void adopt();
  // The buffered page lp, or nullptr.
  const Page* find(uint32_t lp) const;
  // Forgets sectors [first, first+n) of page lp (trim).
  void drop(uint32_t lp, uint32_t first, uint32_t n);

  bool full() const { return pending_bytes_ >= capacity_; }
  bool empty() const { return index_.empty(); }
  uint64_t pending_bytes() const { return pending_bytes_; }
  // Buffered pages in arrival order; pages whose sectors were all dropped
  // have an empty `present`.
  std::span<Page> pages() { return std::span(pages_).first(used_); }
  bool complete(const Page& p) const { return p.present.count() == sectors_per_page_; }
  void clear();

 private:
  const uint32_t page_bytes_;
  const uint32_t sectors_per_page_;
  const uint64_t capacity_;
  std::vector<Page> pages_;  // [0, used_) hold data; the rest are spare buffers
  size_t used_ = 0;
  std::unordered_map<uint32_t, size_t> index_;
  uint64_t pending_bytes_ = 0;
  bool any_borrowed_ = false;

  Page& entry(uint32_t lp);
  void own(Page& p);  // gives p its own copy of its data
};

}  // namespace cardfs::sdcard
