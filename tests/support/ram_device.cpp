#include "tests/support/ram_device.h"

#include <algorithm>
#include <cstring>

namespace cardfs::testing {

using blockdev::BioOp;
using blockdev::kSectorSize;

RamDevice::RamDevice(uint64_t sectors, uint32_t read_ahead_kb)
    : sectors_(sectors), read_ahead_kb_(read_ahead_kb), data_(sectors * kSectorSize) {}

void RamDevice::submit(blockdev::BioPtr bio) {
  int status = 0;
  {
    std::lock_guard lock(mu_);
    log_.push_back({bio->op, bio->sector, bio->sectors(), bio->flags});
    if (fail_n_ > 0) {
      --fail_n_;
      status = -fail_err_;
    } else if (bio->sector + bio->sectors() > sectors_) {
      status = -EIO;
    } else if (hold_) {
      held_.push_back(std::move(bio));
      return;
    } else {
      execute(*bio);
    }
  }
  bio->on_complete(status);
}

void RamDevice::execute(blockdev::Bio& bio) {
  std::byte* at = data_.data() + bio.sector * kSectorSize;
  switch (bio.op) {
    case BioOp::kRead:
      for (auto& seg : bio.segments) {
        std::memcpy(seg.data, at, seg.len);
        at += seg.len;
      }
      break;
    case BioOp::kWrite:
      for (auto& seg : bio.segments) {
        std::memcpy(at, seg.data, seg.len);
        at += seg.len;
      }
      break;
    case BioOp::kDiscard:
      std::memset(at, 0, bio.discard_sectors * kSectorSize);
      break;
    case BioOp::kFlush:
      break;
  }
}

std::vector<RecordedBio> RamDevice::log() const {
  std::lock_guard lock(mu_);
  return log_;
}

void RamDevice::clear_log() {
  std::lock_guard lock(mu_);
  log_.clear();
}

size_t RamDevice::count(BioOp op) const {
  std::lock_guard lock(mu_);
  return std::count_if(log_.begin(), log_.end(), [&](auto& b) { return b.op == op; });
}

void RamDevice::set_hold_completions(bool hold) {
  std::lock_guard lock(mu_);
  hold_ = hold;
}

size_t RamDevice::complete_held(size_t max) {
  std::vector<blockdev::BioPtr> done;
  {
    std::lock_guard lock(mu_);
    while (!held_.empty() && done.size() < max) {
      execute(*held_.front());
      done.push_back(std::move(held_.front()));
      held_.pop_front();
    }
  }
  for (auto& b : done) b->on_complete(0);
  return done.size();
}

void RamDevice::fail_next(size_t n, int err) {
  std::lock_guard lock(mu_);
  fail_n_ = n;
  fail_err_ = err;
}

void RamDevice::peek(uint64_t sector, std::span<std::byte> out) const {
  std::lock_guard lock(mu_);
  std::memcpy(out.data(), data_.data() + sector * kSectorSize, out.size());
}

void RamDevice::poke(uint64_t sector, std::span<const std::byte> in) {
  std::lock_guard lock(mu_);
  std::memcpy(data_.data() + sector * kSectorSize, in.data(), in.size());
}

}  // namespace cardfs::testing
