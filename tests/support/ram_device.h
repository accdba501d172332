// RamDevice: a BlockDevice fake for tests of the layers above blockdev.
//
// Holds the disk in memory, completes every bio synchronously inside
// submit() (or, with hold_completions, when the test calls
// complete_held()), and records each bio it receives so tests can assert
// what reached the "device". Plugging is recorded but not merged: merging
// is the queue's job, tested in tests/blockdev.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <span>
#include <vector>

#include "blockdev/block_device.h"

namespace cardfs::testing {

struct RecordedBio {
  blockdev::BioOp op;
  uint64_t sector;
  uint64_t sectors;
  uint32_t flags;
};

class RamDevice final : public blockdev::BlockDevice {
 public:
  explicit RamDevice(uint64_t sectors, uint32_t read_ahead_kb = 128);

  void submit(blockdev::BioPtr bio) override;
  uint64_t sector_count() const override { return sectors_; }
  uint32_t read_ahead_kb() const override { return read_ahead_kb_; }
  uint32_t io_kb() const override { return io_kb_; }
  bool discard_zeroes_data() const override { return true; }  // submit() zeroes them
  void set_io_kb(uint32_t kb) { io_kb_ = kb; }  // the largest request (max_sectors_kb)
  void plug_start() override {}
  void plug_finish() override {}
  void plug_flush() override {}

  // Every bio received so far, in arrival order.
  std::vector<RecordedBio> log() const;
  void clear_log();
  size_t count(blockdev::BioOp op) const;

  // With hold, bios are stored and complete only through complete_held().
  void set_hold_completions(bool hold);
  size_t complete_held(size_t max = SIZE_MAX);
  // Next n bios (of any op) complete with -err (then behaviour resumes).
  void fail_next(size_t n, int err);

  // Direct access to the backing bytes (no bio, not logged).
  void peek(uint64_t sector, std::span<std::byte> out) const;
  void poke(uint64_t sector, std::span<const std::byte> in);

 private:
  void execute(blockdev::Bio& bio);
  const uint64_t sectors_;
  const uint32_t read_ahead_kb_;
  uint32_t io_kb_ = 0;
  mutable std::mutex mu_;
  std::vector<std::byte> data_;
  std::vector<RecordedBio> log_;
  bool hold_ = false;
  std::deque<blockdev::BioPtr> held_;
  size_t fail_n_ = 0;
  int fail_err_ = 0;
};

}  // namespace cardfs::testing
