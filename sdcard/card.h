// Card: the emulated SD card, persisted in one image file.
//
// Contract
// - One command at a time, as on a real SD card: read/write/flush/discard
//   are serialised internally, so any thread may call them. counters(),
//   device_time() and the other accessors never wait for a command that is
//   sleeping in realtime mode.
// - Addresses are 512-byte sectors; every segment length is a multiple of
//   512. Errors are Status values: EINVAL (bad range or segment), EIO
//   (image I/O failed, injected fault, card after a power cut, a flash
//   page that fails its CRC: the card's uncorrectable ECC error), ENOSPC.
// - write() lands in the card's volatile write buffer (the RU buffer);
//   flush() programs it to flash, and with CardOptions::durable also
//   fsyncs the image. A power cut loses whatever was not yet programmed.
// - Device time: each command costs overhead + transfer + program/read +
//   erase + merge on the profile's timing model. Fast mode (default) only
//   accounts it on the card's clock; realtime mode also sleeps on the
//   injected Clock so callers see the card's speed.
// - The Card owns its PageStore (by default the image file); close() (or
//   the destructor) shuts down cleanly. The Clock must outlive the Card.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace cardfs::sdcard {

struct Profile;   // a named card and its timing: sdcard/profiles.h
struct Geometry;  // sizes of sectors, pages, AUs: sdcard/geometry.h
class PageStore;  // where the pages live (image, memory, none): sdcard/page_store.h
struct Lifetime;  // counters over the card's whole life: sdcard/image_format.h

// Faults for tests (leveldb's FaultInjectionTestEnv idea, driven by index).
struct FaultPlan {
  // 0: never. Otherwise commands 1..N (counted from open) complete and power
  // is cut during command N+1: that command programs only part of its pages,
  // the page being programmed may be torn, the write buffer is lost, and
  // every later command fails with EIO. Reopen the image to "power on".
  uint64_t power_cut_after = 0;
  // Chooses how far the interrupted command gets and whether a page tears.
  uint64_t seed = 1;
  // How the cut falls in command N+1: kSeeded as above; kBetween: before it
  // does anything (nothing of it reaches flash); kTorn: it programs
  // `torn_after` pages (default: a seeded 0-3) and the next one is torn,
  // if it programs that many.
  enum class Cut : uint8_t { kSeeded, kBetween, kTorn };
  Cut cut = Cut::kSeeded;
  std::optional<uint64_t> torn_after;
  // A read that covers any of these sectors fails with EIO.
  std::vector<uint64_t> read_error_sectors;
};

// One host command as the card receives it, for a recorder (CardOptions).
enum class CommandKind : uint8_t { kRead, kWrite, kFlush, kDiscard };
struct CommandView {
  CommandKind kind = CommandKind::kRead;
  uint64_t sector = 0;
  uint64_t sectors = 0;  // 0 for a flush
  std::span<const iovec> data = {};  // a write's bytes (valid during record())
  bool fua = false;
  uint64_t index = 0;                // 1 for the first command since open
  Nanos device_time{0};              // the card's clock when it starts
};
// Sees every command in the card's order, before it runs (a crashtest's
// recording, blockdev/command_log.h). Called with the card's locks held:
// it must not call the card.
class CommandRecorder {
 public:
  virtual ~CommandRecorder() = default;
  virtual void record(const CommandView& command) = 0;
};

struct CardOptions {
  bool realtime = false;  // sleep on the clock for each command's device time
  bool durable = false;   // flush() also fsyncs the image file
  bool read_only = false; // open without changing the image; writes fail (EROFS)
  // Open read-write but change nothing in the image until begin_writes():
  // until then writes and discards fail (EROFS), flushes do nothing and
  // close() writes nothing. A mount looks at the filesystem on the card
  // first, so an image it refuses is left as it was, without a second
  // power-on scan (a 64 GiB card's scan reads 137 MiB).
  bool hold_writes = false;
  // A card marked clean whose checkpoint slots are all damaged is opened
  // with its map rebuilt from the out-of-band scan (as after an unclean
  // stop) instead of refused: fsck and `cardfs card repair`.
  bool rebuild_map = false;
  FaultPlan faults;
  CommandRecorder* recorder = nullptr;  // not owned; outlives the card
  // The power-on scan's progress (open only): done of total physical pages
  // scanned, increasing, called once per chunk of out-of-band records
  // (4096 pages) and with done == total once the map is rebuilt.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

// Device time split by what the card spent it on.
struct TimeByCause {
  Nanos command{0};   // per-command overhead
  Nanos transfer{0};  // bus transfer of host data
  Nanos read{0};      // flash page reads
  Nanos program{0};   // flash page programs of host data
  Nanos merge{0};     // copying still-valid pages when closing an AU
  Nanos erase{0};     // block erases
  Nanos total() const { return command + transfer + read + program + merge + erase; }
};

// The bytes a store wrote to its image since open, by what they hold
// (from where in the image they went; issue 23: which part of the image's
// bytes per host byte dominates). Not part of the model.
struct ImageBytes {
  uint64_t data = 0;           // data units (the flash area)
  uint64_t records = 0;        // out-of-band records
  uint64_t merge_entries = 0;  // the merge table (version 6)
  uint64_t checkpoints = 0;    // checkpoint slots and (version 8) name slots
  uint64_t tables = 0;         // headers, the erase, unit and data CRC tables, the clean map
  uint64_t total() const { return data + records + merge_entries + checkpoints + tables; }
};

struct CardCounters {
  uint64_t commands = 0;
  uint64_t host_sectors_read = 0;
  uint64_t host_sectors_written = 0;
  uint64_t host_sectors_discarded = 0;
  uint64_t flushes = 0;
  uint64_t flash_pages_read = 0;
  uint64_t flash_pages_programmed = 0;  // host pages + merge copies
  uint64_t merges = 0;
  uint64_t merge_pages_copied = 0;
  uint64_t erases = 0;  // AU erases
  uint64_t au_opens = 0;
  uint64_t au_closes = 0;
  // Page reads that failed as a real card's uncorrectable ECC error does
  // (damaged data or out-of-band record): each failed the read with EIO.
  uint64_t ecc_errors = 0;
  uint64_t store_syncs = 0;  // syncs of the image (durable mode: flushes, checkpoints, header)
  // Bytes the store wrote to the image (page data, out-of-band records,
  // checkpoints, headers) since open: what the emulation costs the host's
  // disk, not part of the model (0 on the none store).
  uint64_t image_bytes_written = 0;
  ImageBytes image_bytes;  // the same by kind
  TimeByCause time;
  // Flash bytes programmed / host bytes written (0 before any write).
  double write_amplification(uint32_t page_bytes) const {
    if (host_sectors_written == 0) return 0.0;
    return double(flash_pages_programmed) * page_bytes / (double(host_sectors_written) * 512.0);
  }
  // Image bytes written / host bytes written (0 before any write): the
  // host's own write amplification, which moves no longer add to.
  double image_bytes_per_host_byte() const {
    if (host_sectors_written == 0) return 0.0;
    return double(image_bytes_written) / (double(host_sectors_written) * 512.0);
  }
};

// Per physical AU state, for wear histograms and `cardfs card info`.
struct AuState {
  uint32_t erase_count = 0;
  uint32_t valid_pages = 0;
  int64_t logical_au = -1;  // -1: free, waiting for erase, or page-mapped
  const char* role = "free";  // "free", "open" (taking writes), "data", "erasing"
};

class Card {
 public:
  // Creates a new image file at path (refuses to overwrite an existing
  // file). size_bytes is the user capacity; it must be a multiple of the
  // profile's AU size.
  static Result<std::unique_ptr<Card>> create(const std::string& path, const Profile& profile,
                                              uint64_t size_bytes, Clock& clock,
                                              CardOptions opts = {});
  // Opens an existing image; after an unclean stop the FTL map is rebuilt
  // by an out-of-band scan. A failed open never modifies the image.
  static Result<std::unique_ptr<Card>> open(const std::string& path, Clock& clock,
                                            CardOptions opts = {});
  // The same on any PageStore (create: an empty one; open: one holding a
  // card). The model does not depend on the store: the same commands cost
  // the same device time, merges, erases and wear on every store.
  static Result<std::unique_ptr<Card>> create(std::unique_ptr<PageStore> store, const Profile& profile,
                                              uint64_t size_bytes, Clock& clock, CardOptions opts = {});
  static Result<std::unique_ptr<Card>> open(std::unique_ptr<PageStore> store, Clock& clock,
                                            CardOptions opts = {});

  ~Card();
  Card(const Card&) = delete;
  Card& operator=(const Card&) = delete;

  Status read(uint64_t sector, std::span<const iovec> segments);
  // Into the write buffer; fua: programmed to flash before return.
  Status write(uint64_t sector, std::span<const iovec> segments, bool fua);
  // The SD cache flush: write buffer to flash (+ fsync if durable).
  Status flush();
  // Trim: the sectors read back as zeros afterwards.
  Status discard(uint64_t sector, uint64_t sectors);
  // A patrol read: reads and checks every page that holds data, as a read
  // would, and returns the logical pages (of page_bytes each, ascending)
  // whose reads fail with EIO. Not a host command: nothing is counted or
  // charged, nothing logged. For fsck.
  Result<std::vector<uint32_t>> unreadable_pages();
  // Clean shutdown: flush, checkpoint the FTL map, mark the image clean.
  // Later commands fail with EIO. Idempotent.
  Status close();

  uint64_t sector_count() const;
  Nanos device_time() const;  // total device time on the card's clock
  CardCounters counters() const;
  // Over the card's whole life: what earlier opens stored in the image
  // plus this open's counters. Kept in the image at every checkpoint and
  // at close (an unclean stop loses what came after the last of them).
  Lifetime lifetime() const;
  std::vector<AuState> au_states() const;  // indexed by physical AU
  const Profile& profile() const;
  const Geometry& geometry() const;
  uint32_t serial() const;  // the CID's product serial number
  // Whether the image had been closed cleanly when it was opened (false:
  // the FTL map was rebuilt by the out-of-band scan).
  bool opened_clean() const;
  // Marked clean, but no checkpoint slot was valid: the map was rebuilt
  // from the out-of-band scan (CardOptions::rebuild_map). Pages trimmed
  // since they were last written may read their old data again.
  bool checkpoint_lost() const;
  // `cardfs card repair`: what keeps the image at `path` from opening and
  // can be put right is, and said (one sentence each; empty: nothing was
  // wrong): a damaged header (rewritten from its backup), an image a few
  // bytes short (extended back), no valid checkpoint (the map rebuilt from
  // the out-of-band scan and checkpointed). The card is closed cleanly.
  static Result<std::vector<std::string>> repair(const std::string& path, Clock& clock);
  // After an open with CardOptions::hold_writes: what a read-write open
  // does at once (the header marked in use, a power cycle counted, a
  // logical AU left scattered by a power cut merged), and from then on the
  // card takes writes. Idempotent; nothing to do after other opens.
  Status begin_writes();
  // Faults can also be armed after open; the command count restarts at 0.
  void set_faults(const FaultPlan& faults);
  // Records every later command (CardOptions::recorder), or stops (null).
  void set_recorder(CommandRecorder* recorder);
  // True once an injected power cut has happened.
  bool powered_off() const;
  // The power fails now, between commands: the write buffer is lost and
  // every later command fails with EIO (a user's `echo now > powercut`).
  void cut_power();
  struct FaultState {
    FaultPlan plan;
    uint64_t commands_since_armed = 0;
    bool powered_off = false;
  };
  FaultState fault_state() const;

  struct Impl;

 private:
  explicit Card(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cardfs::sdcard
