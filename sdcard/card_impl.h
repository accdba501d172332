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

// Pages programmed between periodic checkpoints.
inline constexpr uint64_t kCheckpointEveryPrograms = 4096;

struct Card::Impl {
  Impl(Clock& c, CardOptions o, const Profile& p, const ImageHeader& h, std::unique_ptr<PageStore> s);

  // Runs one command: counts it, applies faults, charges its device time,
  // and in realtime mode sleeps for it after releasing state_mu.
  template <typename Body>
  Status command(Body&& body);

  Status do_read(uint64_t sector, std::span<const iovec> segments);
  Status do_write(uint64_t sector, std::span<const iovec> segments, bool fua);
  Status do_flush();
  Status do_discard(uint64_t sector, uint64_t sectors);
  Status drain();  // programs the write buffer
  Status write_checkpoint();
  Status write_header(bool clean);
  Status close_locked();
  Status check_range(uint64_t sector, uint64_t sectors) const;

  Clock& clock;
  const CardOptions opts;
  const Profile& profile;
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
  uint64_t generation = 0;
  uint64_t programs_at_checkpoint = 0;
  bool closed = false;
  bool opened_clean = false;
  Nanos busy_until{0};
  std::vector<std::byte> scratch;  // a buffered page merged with flash, for a read
  std::vector<iovec> read_iovs;    // do_read's working storage
  std::vector<std::pair<uint64_t, size_t>> read_runs;
  std::vector<FlashRead> read_ops;
};

}  // namespace cardfs::sdcard
