// Creating, opening (power-on scan), checkpointing and closing a Card.
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "base/crc32c.h"
#include "base/log.h"
#include "sdcard/card.h"
#include "sdcard/card_impl.h"
#include "sdcard/image_file.h"

namespace cardfs::sdcard {

Result<std::unique_ptr<Card>> Card::create(const std::string& path, const Profile& profile,
                                           uint64_t size_bytes, Clock& clock, CardOptions opts) {
  CARDFS_RETURN_IF_ERROR(make_geometry(profile, size_bytes).status());
  Result<std::unique_ptr<PageStore>> store = image_store(path, OpenMode::kCreate);
  if (!store.is_ok()) return store.status().with_context("creating card image");
  Result<std::unique_ptr<Card>> card = create(std::move(store).value(), profile, size_bytes, clock, std::move(opts));
  // The new file's name is durable too (format() synced its data).
  if (card.is_ok()) {
    if (Status st = ImageFile::sync_directory_of(path); !st.is_ok()) card = st;
  }
  if (!card.is_ok()) ::unlink(path.c_str());
  return card;
}

Result<std::unique_ptr<Card>> Card::open(const std::string& path, Clock& clock, CardOptions opts) {
  Result<std::unique_ptr<PageStore>> store =
      image_store(path, opts.read_only ? OpenMode::kReadOnly : OpenMode::kReadWrite);
  if (!store.is_ok()) return store.status();
  return open(std::move(store).value(), clock, std::move(opts));
}

Result<std::unique_ptr<Card>> Card::create(std::unique_ptr<PageStore> store, const Profile& profile,
                                           uint64_t size_bytes, Clock& clock, CardOptions opts) {
  CARDFS_ASSIGN_OR_RETURN(Geometry g, make_geometry(profile, size_bytes));
  ImageHeader h;
  h.geometry = g;
  h.profile = std::string(profile.name);
  h.serial = crc32c(std::as_bytes(std::span(store->name().data(), store->name().size()))) ^
             uint32_t(size_bytes >> 20);
  h.clean = true;
  CARDFS_RETURN_IF_ERROR(store->format(h).with_context("creating " + store->name()));
  // The state an open of the fresh store would rebuild: every AU free,
  // checkpoint generation 1 (what format() wrote).
  auto impl = std::make_unique<Impl>(clock, std::move(opts), profile, h, std::move(store));
  impl->generation = 1;
  impl->opened_clean = true;
  impl->lifetime_at_open.power_cycles = 1;
  if (!impl->opts.read_only) CARDFS_RETURN_IF_ERROR(impl->write_header(false));
  return std::unique_ptr<Card>(new Card(std::move(impl)));
}

Result<std::unique_ptr<Card>> Card::open(std::unique_ptr<PageStore> store, Clock& clock, CardOptions opts) {
  CARDFS_ASSIGN_OR_RETURN(ImageHeader header, store->read_header());
  auto fail = [&](const Status& s) { return s.with_context(store->name()); };
  Result<const Profile*> profile = find_profile(header.profile);
  if (!profile.is_ok()) return fail(profile.status());
  if ((*profile)->page_bytes != header.geometry.page_bytes)
    return fail(Status::error(EINVAL, "page size does not match profile " + header.profile));
  CARDFS_ASSIGN_OR_RETURN(StoredMap map, store->read_map(header, opts.progress));
  if (header.clean && !map.checkpoint && !opts.rebuild_map)
    return fail(Status::error(EINVAL, "image marked clean but no valid checkpoint "
                                      "(`cardfs card repair` rebuilds the map from the out-of-band scan)"));

  const std::string name = store->name();
  auto impl = std::make_unique<Impl>(clock, std::move(opts), **profile, header, std::move(store));
  const bool from_clean_map = map.holders.size() != 0;
  if (from_clean_map)
    impl->ftl.restore_clean(std::move(*map.checkpoint), std::move(map.holders), map.held_pages);
  else
    impl->ftl.rebuild(map.scan, map.checkpoint ? &*map.checkpoint : nullptr);
  const uint64_t pages = header.geometry.physical_pages();
  if (impl->opts.progress) impl->opts.progress(pages, pages);
  impl->generation = map.checkpoint ? map.checkpoint->generation : 0;
  impl->opened_clean = header.clean;
  impl->checkpoint_lost = header.clean && !map.checkpoint;
  impl->programs_at_checkpoint = impl->counted_programs();
  impl->lifetime_at_open = header.lifetime;
  if (header.lifetime_lost)
    logger("sdcard")->warn("{}: the lifetime counters were damaged; they restart at zero", name);
  logger("sdcard")->debug("{}: opened {} card ({})", name, header.profile,
                          from_clean_map ? "clean: map from its checkpoint and clean map"
                          : header.clean       ? "clean: map rebuilt by OOB scan"
                                               : "unclean stop: map rebuilt by OOB scan");
  impl->writes_held = !impl->opts.read_only;
  if (!impl->opts.hold_writes) CARDFS_RETURN_IF_ERROR(impl->start_writes());
  return std::unique_ptr<Card>(new Card(std::move(impl)));
}

// From here on the image may change: it is valid and will be ours. A
// power-on, and an unclean shutdown if it was not closed cleanly. After a
// hold the counters (and device time) start again from zero: the reads of
// the look before belong to no workload, as when the look had its own
// read-only open, and a command log started now numbers its commands
// from 1 as a replay of it will.
Status Card::Impl::start_writes() {
  if (!writes_held) return Status::ok();
  writes_held = false;
  if (opts.hold_writes) {
    counters = CardCounters{};
    commands_since_faults = 0;
  }
  ++lifetime_at_open.power_cycles;
  if (!opened_clean) ++lifetime_at_open.unclean_shutdowns;
  CARDFS_RETURN_IF_ERROR(write_header(false));
  CARDFS_RETURN_IF_ERROR(ftl.normalize());
  return flash.submit();
}

Status Card::begin_writes() {
  std::lock_guard turn(impl_->turn_mu);
  std::lock_guard state(impl_->state_mu);
  if (impl_->closed) return Status::error(EIO, "card is closed");
  return impl_->start_writes();
}

Status Card::Impl::write_header(bool clean) {
  header.clean = clean;
  header.lifetime = lifetime();
  header.lifetime_lost = false;
  CARDFS_RETURN_IF_ERROR(store->write_header(header));
  return opts.durable ? sync_store() : store->finish_writes();
}

Status Card::Impl::write_checkpoint() {
  if (flash.powered_off()) return Status::error(EIO, "card lost power");
  CARDFS_RETURN_IF_ERROR(flash.submit());
  if (opts.durable) CARDFS_RETURN_IF_ERROR(sync_store());
  const CheckpointView c = ftl.make_checkpoint(generation + 1);
  CARDFS_RETURN_IF_ERROR(store->write_checkpoint(c));
  // The lifetime counters go with each checkpoint, so an unclean stop
  // loses at most a checkpoint interval of them (synced with it).
  header.lifetime = lifetime();
  CARDFS_RETURN_IF_ERROR(store->write_header(header));
  if (opts.durable) CARDFS_RETURN_IF_ERROR(sync_store());
  generation = c.generation;
  programs_at_checkpoint = counted_programs();
  ftl.checkpoint_written();
  return Status::ok();
}

Status Card::Impl::close_locked() {
  if (closed) return Status::ok();
  closed = true;
  if (opts.read_only || writes_held) return Status::ok();
  if (flash.powered_off()) return store->finish_writes();  // what reached the image before the cut
  CARDFS_RETURN_IF_ERROR(drain());
  CARDFS_RETURN_IF_ERROR(write_checkpoint());  // syncs first when durable
  // What the next open needs instead of a scan; on the disk before the
  // header says clean.
  CARDFS_RETURN_IF_ERROR(store->write_clean_map(generation, ftl.page_holders()));
  if (opts.durable) CARDFS_RETURN_IF_ERROR(sync_store());
  return write_header(true);
}

}  // namespace cardfs::sdcard
