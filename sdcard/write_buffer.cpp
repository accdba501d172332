#include "sdcard/write_buffer.h"

#include <algorithm>

#include "sdcard/geometry.h"

namespace cardfs::sdcard {

WriteBuffer::WriteBuffer(uint32_t page_bytes, uint32_t capacity_bytes)
    : page_bytes_(page_bytes),
      sectors_per_page_(page_bytes / kSectorBytes),
      capacity_(std::max<uint64_t>(capacity_bytes, kSectorBytes)) {}

WriteBuffer::Page& WriteBuffer::entry(uint32_t lp) {
  auto [it, inserted] = index_.try_emplace(lp, used_);
  if (inserted) {
    if (used_ == pages_.size()) pages_.emplace_back();
    Page& p = pages_[used_++];
    p.lp = lp;
    p.present.reset();
    p.borrowed = nullptr;
  }
  return pages_[it->second];
}

void WriteBuffer::own(Page& p) {
  if (p.borrowed) {
    p.data.assign(p.borrowed, p.borrowed + page_bytes_);
    p.borrowed = nullptr;
  } else {
    p.data.resize(page_bytes_);
  }
}

std::byte* WriteBuffer::reserve(uint32_t lp, uint32_t first, uint32_t n) {
  Page& p = entry(lp);
  own(p);  // part of the page changes
  for (uint32_t s = first; s < first + n; ++s) {
    if (!p.present[s]) pending_bytes_ += kSectorBytes;
    p.present[s] = true;
  }
  return p.data.data() + size_t(first) * kSectorBytes;
}

void WriteBuffer::borrow(uint32_t lp, const std::byte* host) {
  Page& p = entry(lp);
  pending_bytes_ += uint64_t(sectors_per_page_ - p.present.count()) * kSectorBytes;
  for (uint32_t s = 0; s < sectors_per_page_; ++s) p.present[s] = true;
  p.borrowed = host;
  any_borrowed_ = true;
}

void WriteBuffer::adopt() {
  if (!any_borrowed_) return;
  for (Page& p : pages())
    if (p.borrowed) own(p);
  any_borrowed_ = false;
}

const WriteBuffer::Page* WriteBuffer::find(uint32_t lp) const {
  auto it = index_.find(lp);
  return it == index_.end() ? nullptr : &pages_[it->second];
}

void WriteBuffer::drop(uint32_t lp, uint32_t first, uint32_t n) {
  auto it = index_.find(lp);
  if (it == index_.end()) return;
  Page& p = pages_[it->second];
  own(p);
  for (uint32_t s = first; s < first + n; ++s) {
    if (p.present[s]) pending_bytes_ -= kSectorBytes;
    p.present[s] = false;
  }
}

void WriteBuffer::clear() {
  for (Page& p : pages()) p.borrowed = nullptr;
  any_borrowed_ = false;
  index_.clear();
  used_ = 0;
  pending_bytes_ = 0;
}

}  // namespace cardfs::sdcard
