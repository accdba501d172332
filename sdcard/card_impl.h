// Card::Impl: the state behind a Card (internal to sdcard/).
//
// Lock order: turn_mu, then state_mu. turn_mu serialises commands (one at
// a time, as on the SD bus) and stays held while a realtime command sleeps;
// state_mu guards everything below and is never held while sleeping, so
// counters() does not wait for a sleeping command.
#pragma once

#include <memory>
#include <mutex>

#include "sdcard/card.h"
#include "sdcard/flash.h"
#include "sdcard/ftl.h"
#include "sdcard/geometry.h"
#include "sdcard/image_format.h"
#include "sdcard/page_store.h"
#include "sdcard/profiles.h"
#include "sdcard/write_buffer.h"

namespace cardfs::sdcard {

// Pages programmed between periodic checkpoints: what bounds the pages
// whose data the power-on scan checks after a cut. Moves a store keeps as
// merge entries count only through the store's checks_pending().
inline constexpr uint64_t kCheckpointEveryPrograms = 4096;

class IovCursor;

// A page a host read takes only partly, or merges with the write buffer:
// read whole into the read pool, then copied into the host's pieces.
struct PartialRead {
  size_t read;  // index in read_pages, or SIZE_MAX: nothing to read (zeros)
  uint32_t first, sectors;
  const WriteBuffer::Page* buffered;  // newer sectors on top, or nullptr
  size_t iov_begin, iov_end;          // the host's pieces, in read_iovs
};

struct Card::Impl {
  Impl(Clock& c, CardOptions o, const Profile& p, const ImageHeader& h, std::unique_ptr<PageStore> s);

  // Runs one command: counts it, applies faults, charges its device time,
  // and in realtime mode sleeps for it after releasing state_mu.
  template <typename Body>
  Status command(const CommandView& view, Body&& body);
  void arm_cut();  // the FaultPlan's cut, in the command about to run

  Status do_read(uint64_t sector, std::span<const iovec> segments);
  Status do_write(uint64_t sector, std::span<const iovec> segments, bool fua);
  Status do_flush();
  Status do_discard(uint64_t sector, uint64_t sectors);
  Status drain();  // programs the write buffer
  Status complete_partial_pages(std::span<WriteBuffer::Page> pages);
  void fill_missing(WriteBuffer::Page& p, const std::byte* old);
  void note_partial(const WriteBuffer::Page& p, bool mapped, bool damaged);
  // Makes everything written durable (durable mode), counted.
  Status sync_store() {
    ++counters.store_syncs;
    return store->sync();
  }
  // A flush's end (and an erase's start): synced when durable, then the
  // store told (PageStore::flushed).
  Status settle() {
    if (opts.durable) CARDFS_RETURN_IF_ERROR(sync_store());
    store->flushed();
    return Status::ok();
  }
  Result<std::vector<uint32_t>> patrol();  // Card::unreadable_pages()
  // After a read of `pages`: those whose record does not name them are
  // lost from now on (PageFault::record).
  void lose_unnamed(std::span<const PageRead> pages);
  Status write_checkpoint();
  // Programs that count toward the checkpoint interval (all, less the
  // moves of merges on a store with compact_merges()), and whether the
  // interval is over.
  uint64_t counted_programs() const;
  bool checkpoint_due() const;
  Status write_header(bool clean);
  Lifetime lifetime() const;  // lifetime_at_open + counters
  Status close_locked();
  Status check_writable() const;  // EROFS: read-only, or writes held
  Status start_writes();  // what a read-write open does (begin_writes())
  Status check_range(uint64_t sector, uint64_t sectors) const;

  Clock& clock;
  const CardOptions opts;
  // A copy: the caller's Profile may be a temporary (mkfs -n's twin is made
  // from another card's profile); flash and ftl refer to this one.
  const Profile profile;
  ImageHeader header;
  const Geometry geometry;
  std::unique_ptr<PageStore> store;
  // The store keeps no data (none): the model runs and charges as always,
  // but no byte is copied into the write buffer or read back for it.
  const bool dataless;

  mutable std::mutex turn_mu;
  mutable std::mutex state_mu;
  CardCounters counters;
  Flash flash;
  FlashTranslationLayer ftl;
  WriteBuffer buffer;
  FaultPlan faults;
  uint64_t commands_since_faults = 0;
  CommandRecorder* recorder = nullptr;  // opts.recorder, or set_recorder()'s (state_mu)
  uint64_t generation = 0;
  uint64_t programs_at_checkpoint = 0;
  bool closed = false;
  bool opened_clean = false;
  bool writes_held = false;  // CardOptions::hold_writes until begin_writes()
  bool checkpoint_lost = false;  // Card::checkpoint_lost()
  Lifetime lifetime_at_open;     // as stored, with this power-on counted
  Nanos busy_until{0};
  // do_read's working storage (members to keep their memory between reads).
  class ReadPlan;
  std::vector<PageRead> read_pages;
  std::vector<PartialRead> read_partials;
  std::vector<iovec> read_iovs;
  std::vector<std::byte> read_pool;
  // drain's: the current copies of partly rewritten pages (read-modify-write).
  std::vector<PageRead> rmw_reads;
  std::vector<std::byte> rmw_pool;
};

}  // namespace cardfs::sdcard
