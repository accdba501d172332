// BlockDevice: what the layers above (the page cache) see of a disk.
//
// The request queue (blockdev::Queue) implements it over the emulated card;
// tests implement it with fakes. Thread-safe: any thread may submit.
#pragma once

#include <cstdint>
#include <memory>

#include "blockdev/bio.h"

namespace cardfs::blockdev {

class BlockDevice {
 public:
  virtual ~BlockDevice() = default;

  // Queues bio; bio->on_complete runs exactly once, possibly before submit
  // returns. While the calling thread holds a Plug on this device, bios
  // gather in the plug and reach the device at unplug.
  virtual void submit(BioPtr bio) = 0;

  // Capacity in 512-byte sectors.
  virtual uint64_t sector_count() const = 0;

  // The queue's read_ahead_kb tunable, read by the page cache's readahead.
  virtual uint32_t read_ahead_kb() const = 0;
  // The largest request the device takes in KiB (Linux's bdi io_pages,
  // from max_sectors_kb): a read larger than the readahead window may read
  // ahead up to this much. 0: no more than read_ahead_kb.
  virtual uint32_t io_kb() const { return 0; }
  // A completed discard leaves its sectors reading as zeros (Driver's
  // discard_zeroes_data; false unless the device promises it).
  virtual bool discard_zeroes_data() const { return false; }

  // Per-thread plugging (blk_start_plug / blk_finish_plug). Use Plug below.
  virtual void plug_start() = 0;
  virtual void plug_finish() = 0;
  // Sends the calling thread's plugged bios on now; the plug stays. A
  // thread calls this before blocking on I/O it submitted, as schedule()
  // does in Linux.
  virtual void plug_flush() = 0;
};

// RAII plug: bios submitted by this thread to `dev` while it lives gather
// and merge, and go to the device when it ends (or on plug_flush()).
class Plug {
 public:
  explicit Plug(BlockDevice& dev) : dev_(dev) { dev_.plug_start(); }
  ~Plug() { dev_.plug_finish(); }
  Plug(const Plug&) = delete;
  Plug& operator=(const Plug&) = delete;

 private:
  BlockDevice& dev_;
};

// Submits bio and blocks until it completes; returns its status (0/-errno).
// Flushes the calling thread's plug first so the wait cannot deadlock.
int submit_and_wait(BlockDevice& dev, BioPtr bio);

}  // namespace cardfs::blockdev
