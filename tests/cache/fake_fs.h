// Test helpers for the cache: a fake filesystem block map (GetBlock) and
// a device that completes bios only as a test clock passes.
#pragma once

#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "base/clock.h"
#include "cache/page_cache.h"
#include "tests/support/fake_device.h"

namespace cardfs::cache::testing {

// Maps (ino, file block) to device blocks; allocates on create from a
// bump pointer (or from a preset list), and counts calls.
class FakeFs {
 public:
  explicit FakeFs(uint32_t block_size, uint64_t first_free = 64)
      : block_size_(block_size), next_free_(first_free) {}

  GetBlock getter(uint64_t ino) {
    return [this, ino](uint64_t fb, bool create) -> Result<BlockMapping> {
      std::lock_guard lock(mu_);
      ++calls_;
      auto it = map_.find({ino, fb});
      if (it != map_.end()) return BlockMapping::at(it->second * spb());
      if (!create) return BlockMapping{};
      if (enospc_) return Status::error(ENOSPC, "fake fs full");
      uint64_t blk = next_free_++;
      map_[{ino, fb}] = blk;
      return BlockMapping::at(blk * spb(), /*fresh=*/true);
    };
  }
  // Presets file block fb of ino at device block blk (as existing data).
  void place(uint64_t ino, uint64_t fb, uint64_t blk) {
    std::lock_guard lock(mu_);
    map_[{ino, fb}] = blk;
  }
  void unmap(uint64_t ino, uint64_t fb) {
    std::lock_guard lock(mu_);
    map_.erase({ino, fb});
  }
  uint64_t block_of(uint64_t ino, uint64_t fb) {
    std::lock_guard lock(mu_);
    auto it = map_.find({ino, fb});
    return it == map_.end() ? ~0ull : it->second;
  }
  void set_enospc(bool v) {
    std::lock_guard lock(mu_);
    enospc_ = v;
  }
  uint64_t calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  uint64_t spb() const { return block_size_ / 512; }
  const uint32_t block_size_;
  std::mutex mu_;
  uint64_t next_free_;
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> map_;
  bool enospc_ = false;
  uint64_t calls_ = 0;
};

// The number after `name` in meminfo()/vmstat() text ("Dirty:   4 kB",
// "pgpgin 3"); -1 when absent.
inline int64_t stat_of(const std::string& text, const std::string& name) {
  size_t at = 0;
  while ((at = text.find(name, at)) != std::string::npos) {
    bool line_start = at == 0 || text[at - 1] == '\n';
    size_t after = at + name.size();
    if (line_start && after < text.size() && (text[after] == ':' || text[after] == ' ')) {
      return std::stoll(text.substr(text.find_first_not_of(": ", after)));
    }
    at = after;
  }
  return -1;
}

inline std::vector<std::byte> pattern(size_t n, uint32_t seed) {
  std::vector<std::byte> v(n);
  std::mt19937 rng(seed);
  for (auto& b : v) b = std::byte(rng());
  return v;
}

inline std::vector<cardfs::testing::RecordedBio> only(
    const std::vector<cardfs::testing::RecordedBio>& log, blockdev::BioOp op) {
  std::vector<cardfs::testing::RecordedBio> out;
  for (auto& b : log)
    if (b.op == op) out.push_back(b);
  return out;
}

// A clock whose sleeps move time forward and let a slow FakeDevice
// (FakeDeviceOptions::per_bio) complete what became due (single-threaded
// tests of throttling).
class StepClock final : public Clock {
 public:
  explicit StepClock(cardfs::testing::FakeDevice& dev) : dev_(dev) {}
  Nanos now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  void sleep_until(Nanos t) override {
    {
      std::lock_guard lock(mu_);
      if (t > now_) now_ = t;
      t = now_;
    }
    dev_.advance_to(t);
  }

 private:
  cardfs::testing::FakeDevice& dev_;
  mutable std::mutex mu_;
  Nanos now_{0};
};

}  // namespace cardfs::cache::testing
