// ZeroedArrayOf: a fixed-size array that starts at zero in memory the
// kernel hands out as zero pages. Internal to sdcard/.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <span>

namespace cardfs::sdcard {

// Ts that start at zero in memory the kernel hands out as zero pages
// (calloc of a large block is a fresh mapping): a page of them never
// changed is never touched, so a large card's unused pages and units cost
// neither memory nor the time to clear them (std::vectors filled for
// every page and unit were 185 MiB on a 64 GiB card, most of a clean
// open's time). Its users keep their entries so that zero means none
// (the FTL's maps, the store's unit map, the data names' CRCs).
template <typename T>
class ZeroedArrayOf {
 public:
  ZeroedArrayOf() = default;
  explicit ZeroedArrayOf(uint64_t n) { reset(n); }
  // n entries, all zero (the old ones freed).
  void reset(uint64_t n) {
    data_.reset(static_cast<T*>(std::calloc(std::max<uint64_t>(n, 1), sizeof(T))));
    if (!data_) throw std::bad_alloc();  // as a vector's allocation fails
    size_ = n;
  }
  uint64_t size() const { return size_; }
  T& operator[](uint64_t i) { return data_[i]; }
  T operator[](uint64_t i) const { return data_[i]; }
  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  std::span<T> span() { return {data_.get(), size_}; }
  std::span<const T> span() const { return {data_.get(), size_}; }

 private:
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T[], Free> data_;
  uint64_t size_ = 0;
};
using ZeroedArray = ZeroedArrayOf<uint32_t>;

}  // namespace cardfs::sdcard
