// Stack: the layers a mount stands on, assembled and torn down in order —
// card image -> SdcardDriver -> request queue -> page cache -> filesystem.
//
// Contract
// - open() refuses, without changing the image, anything it cannot mount
//   cleanly: not a card image, not a cardfs filesystem, an unsupported
//   incompatible feature, a filesystem marked with errors (the message
//   says to run fsck.cardfs). Mount options become the layers' tunables.
// - While open (read-write), four threads run besides the FUSE workers:
//   `mmcqd/0` (the driver: one command at a time to the card),
//   `flush-data` (the cache's write-back), `jbd2/mmcblk0-8` (the journal's
//   commits, every commit= seconds) and `flush-metadata` (this class: it
//   copies the filesystem's allocation state into the cache every
//   dirty_writeback_centisecs, so flush-data writes it back like any dirty
//   block). Read-only: mmcqd/0 and flush-data only.
// - shutdown() stops flush-metadata, unmounts the filesystem (its last
//   commit; jbd2 stops), writes every dirty page back and stops
//   flush-data, waits for the queue and closes the card (mmcqd/0 stops
//   when the Stack goes). Idempotent; the destructor calls it if nobody
//   did.
// - Accessors are thread-safe as the layers themselves are.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/clock.h"
#include "blockdev/command_log.h"
#include "blockdev/queue.h"
#include "blockdev/sdcard_driver.h"
#include "cache/page_cache.h"
#include "fusefs/filesystem.h"
#include "fusefs/fuse/mount_options.h"
#include "sdcard/card.h"

namespace cardfs::fuse {

class Stack {
 public:
  static Result<std::unique_ptr<Stack>> open(const std::string& image, const MountOptions& opts);
  // The same on `clock` (tests: a VirtualClock), which outlives the Stack.
  static Result<std::unique_ptr<Stack>> open(const std::string& image, const MountOptions& opts,
                                             Clock& clock);
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  Status shutdown();

  // Sets the cache and queue tunables o names (SIGHUP); the others keep
  // their current values.
  Status apply_tunables(const MountOptions& o);

  sdcard::Card& card() { return *card_; }
  blockdev::Queue& queue() { return *queue_; }
  cache::PageCache& cache() { return *cache_; }
  fusefs::Filesystem& fs() { return *fs_; }
  Clock& clock() { return *clock_; }

  // A blktrace-format trace of the queue to NAME.blktrace.<cpu>; one at a time.
  Status start_trace(const std::string& name);
  Status stop_trace();
  std::string trace_name();  // "" when no trace runs

  // Every layer's counters, "layer.name value" per line (.cardfs/stat).
  std::string snapshot_text();

  // A user's marker (.cardfs/mark): a message in the running trace and in
  // the card's command log (record=), and a line in the log.
  void mark(std::string_view text, pid_t writer);

 private:
  explicit Stack(Clock* clock) : clock_(clock ? clock : &real_clock_) {}
  static Result<std::unique_ptr<Stack>> open_with(const std::string& image, const MountOptions& opts,
                                                  Clock* clock);
  static Result<std::unique_ptr<Stack>> open_card(const std::string& image, const MountOptions& opts,
                                                  Clock* clock);
  Status start_card(const MountOptions& opts);
  // probe: cache and filesystem read-only, to check the image before changing it.
  Status mount_fs(const std::string& image, const MountOptions& opts, bool probe);
  Status apply_queue_options(const MountOptions& opts);
  Status arm_faults_and_record(const MountOptions& opts);
  static blockdev::QueueOptions queue_options(const sdcard::Card& card, const MountOptions& opts);
  void start_threads(const MountOptions& opts);
  void flush_metadata_loop();  // the flush-metadata thread

  RealClock real_clock_;
  Clock* clock_;  // real_clock_, or the one open() was given
  std::unique_ptr<blockdev::CommandLog> record_;  // record=; outlives the card
  std::unique_ptr<sdcard::Card> card_;
  std::unique_ptr<blockdev::SdcardDriver> driver_;
  std::unique_ptr<blockdev::Queue> queue_;
  std::unique_ptr<cache::PageCache> cache_;
  std::unique_ptr<fusefs::Filesystem> fs_;
  std::thread flush_metadata_thread_;
  // flush-metadata sleeps on fm_cv_ until its period ends or shutdown()
  // sets fm_stop_, so an unmount does not wait for its next wake-up.
  std::mutex fm_mu_;
  std::condition_variable fm_cv_;
  bool fm_stop_ = false;  // fm_mu_
  std::mutex trace_mu_;
  std::string trace_name_;  // trace_mu_
  bool shut_down_ = false;
  bool probe_ = false;
};

// The cache tunables a mount asks for, over base (the cache's defaults).
cache::Tunables cache_tunables(const MountOptions& opts, cache::Tunables base = {});

}  // namespace cardfs::fuse
