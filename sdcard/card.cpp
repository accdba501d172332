// The Card's commands: read, write, flush, discard.
#include "sdcard/card.h"

#include <algorithm>
#include <cstring>

#include "base/log.h"
#include "sdcard/card_impl.h"
#include "sdcard/iov_cursor.h"

namespace cardfs::sdcard {
namespace {

uint64_t mix(uint64_t x) {  // splitmix64: a fixed, seedable choice
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

Card::Impl::Impl(Clock& c, CardOptions o, const Profile& p, const ImageHeader& h,
                 std::unique_ptr<PageStore> s)
    : clock(c),
      opts(std::move(o)),
      profile(p),
      header(h),
      geometry(h.geometry),
      store(std::move(s)),
      dataless(!store->keeps_data()),
      flash(*store, profile, geometry, counters),
      ftl(profile, geometry, flash, counters),
      buffer(geometry.page_bytes, p.write_buffer_bytes),
      faults(opts.faults),
      recorder(opts.recorder) {
  ftl.set_before_erase_hook([this] {
    if (ftl.trims_pending()) return write_checkpoint();  // syncs when durable
    CARDFS_RETURN_IF_ERROR(flash.submit());
    return settle();
  });
}

// Where in command N+1 the power fails (FaultPlan::Cut).
void Card::Impl::arm_cut() {
  const uint64_t h = mix(faults.seed ^ mix(faults.power_cut_after));
  switch (faults.cut) {
    case FaultPlan::Cut::kSeeded: flash.arm_power_cut(h % 48, (h >> 8) & 1); break;
    case FaultPlan::Cut::kBetween: flash.arm_power_cut(0, false); break;
    case FaultPlan::Cut::kTorn: flash.arm_power_cut(faults.torn_after.value_or(h % 4), true); break;
  }
}

template <typename Body>
Status Card::Impl::command(const CommandView& view, Body&& body) {
  std::lock_guard turn(turn_mu);
  Status st;
  Nanos cost{0};
  {
    std::lock_guard state(state_mu);
    if (closed) return Status::error(EIO, "card is closed");
    if (flash.powered_off()) return Status::error(EIO, "card lost power");
    ++counters.commands;
    ++commands_since_faults;
    if (recorder) {
      CommandView v = view;
      v.index = counters.commands;
      v.device_time = counters.time.total();
      recorder->record(v);
    }
    const bool cut = faults.power_cut_after != 0 && commands_since_faults == faults.power_cut_after + 1;
    if (cut) arm_cut();
    const Nanos before = counters.time.total();
    counters.time.command += profile.command_overhead;
    // A cut between commands: this one never starts.
    st = cut && faults.cut == FaultPlan::Cut::kBetween ? Status::ok() : body();
    if (cut) {
      flash.power_off();
      st = Status::error(EIO, "card lost power during command " + std::to_string(commands_since_faults));
    }
    cost = counters.time.total() - before;
    if (st.is_ok() && checkpoint_due()) st = write_checkpoint();
  }
  if (opts.realtime) {
    const Nanos start = std::max(clock.now(), busy_until);
    busy_until = start + cost;
    clock.sleep_until(busy_until);
  }
  return st;
}

uint64_t Card::Impl::counted_programs() const {
  return ftl.programs() - (store->compact_merges() ? ftl.in_place_moves() : 0);
}

bool Card::Impl::checkpoint_due() const {
  return counted_programs() - programs_at_checkpoint >= kCheckpointEveryPrograms ||
         store->checks_pending() >= kCheckpointEveryPrograms;
}

Status Card::Impl::check_writable() const {
  if (opts.read_only) return Status::error(EROFS, "card opened read-only");
  if (writes_held) return Status::error(EROFS, "card opened with its writes held (begin_writes)");
  return Status::ok();
}

Status Card::Impl::check_range(uint64_t sector, uint64_t sectors) const {
  if (sector > geometry.sector_count() || sectors > geometry.sector_count() - sector)
    return Status::error(EINVAL, "sectors [" + std::to_string(sector) + ", +" + std::to_string(sectors) +
                                     ") beyond the card's " + std::to_string(geometry.sector_count()));
  return Status::ok();
}

Status Card::Impl::do_write(uint64_t sector, std::span<const iovec> segments, bool fua) {
  CARDFS_RETURN_IF_ERROR(check_writable());
  CARDFS_ASSIGN_OR_RETURN(uint64_t bytes, segment_bytes(segments));
  const uint64_t count = bytes / kSectorBytes;
  CARDFS_RETURN_IF_ERROR(check_range(sector, count));
  counters.host_sectors_written += count;
  counters.time.transfer += transfer_time(profile, bytes);
  const uint32_t spp = geometry.sectors_per_page();
  IovCursor cur(segments);
  Status st;
  for (uint64_t s = sector; s < sector + count && st.is_ok();) {
    const uint32_t lp = uint32_t(s / spp), first = uint32_t(s % spp);
    const uint32_t n = uint32_t(std::min<uint64_t>(spp - first, sector + count - s));
    s += n;
    // Whole pages are borrowed, not copied: a full buffer programs them
    // straight from the host's memory.
    const std::byte* whole = n == spp ? cur.take_contiguous(geometry.page_bytes) : nullptr;
    if (whole) {
      buffer.borrow(lp, whole);
    } else {
      std::byte* dst = buffer.reserve(lp, first, n);
      cur.walk(size_t(n) * kSectorBytes, [&](char* host, size_t len) {
        if (!dataless) std::memcpy(dst, host, len);
        dst += len;
      });
    }
    if (buffer.full()) st = drain();
  }
  if (st.is_ok() && fua) st = drain();
  if (st.is_ok() && fua) st = store->finish_writes();
  buffer.adopt();  // the host's memory is only ours until we return
  return st;
}

Status Card::Impl::drain() {
  std::span<WriteBuffer::Page> pages = buffer.pages();
  flash.forget_partial_writes();  // a drain that failed before programming may have left some
  CARDFS_RETURN_IF_ERROR(complete_partial_pages(pages));
  Status st;
  for (WriteBuffer::Page& p : pages)
    if (p.present.any() && st.is_ok()) st = ftl.write_page(p.lp, p.bytes());
  // Even after a failure: the queued programs point into the buffer (or
  // the host's memory) and the map already names them.
  Status submitted = flash.submit();
  flash.forget_partial_writes();
  CARDFS_RETURN_IF_ERROR(st);
  CARDFS_RETURN_IF_ERROR(submitted);
  buffer.clear();
  return Status::ok();
}

// Pages only partly rewritten take their other sectors from their current
// copy, read whole and checked as the card's ECC checks a page (one page
// read each, as the card charges it). A copy that fails passes its damage
// on: the new copy is recorded uncorrectable, so the page reads as
// unreadable until the host rewrites all of it. A copy whose record does
// not name it is lost from then on, as a read finds it (lose_unnamed); a
// lost or unmapped page's other sectors are zeros.
Status Card::Impl::complete_partial_pages(std::span<WriteBuffer::Page> pages) {
  auto with_zeros = [&](WriteBuffer::Page& p) {
    if (ftl.lost(p.lp))  // nothing to read the other sectors from
      logger("sdcard")->warn("{}: logical page {} was unreadable; partly rewritten, its other sectors now read as zeros",
                             store->name(), p.lp);
    note_partial(p, false, false);
    if (!dataless) fill_missing(p, nullptr);
  };
  std::vector<WriteBuffer::Page*> rewritten;
  rmw_reads.clear();
  for (WriteBuffer::Page& p : pages) {
    if (p.present.none() || buffer.complete(p)) continue;
    const uint32_t pp = ftl.locate(p.lp);
    if (pp == FlashTranslationLayer::kUnmapped) {
      with_zeros(p);
      continue;
    }
    rewritten.push_back(&p);
    rmw_reads.push_back({pp, p.lp, nullptr});
  }
  if (rewritten.empty()) return Status::ok();
  if (!dataless) {
    rmw_pool.resize(rmw_reads.size() * geometry.page_bytes);
    for (size_t i = 0; i < rmw_reads.size(); ++i) rmw_reads[i].dest = rmw_pool.data() + i * geometry.page_bytes;
  }
  CARDFS_ASSIGN_OR_RETURN(std::vector<size_t> bad, flash.read_for_rewrite(rmw_reads));
  if (!dataless) lose_unnamed(rmw_reads);
  for (size_t i = 0; i < rewritten.size(); ++i) {
    WriteBuffer::Page& p = *rewritten[i];
    if (ftl.lost(p.lp)) {
      with_zeros(p);
      continue;
    }
    const bool damaged = std::find(bad.begin(), bad.end(), i) != bad.end();
    if (damaged)
      logger("sdcard")->warn("{}: logical page {} is unreadable; partly rewritten, it stays unreadable until it is "
                             "written whole", store->name(), p.lp);
    note_partial(p, true, damaged);
    if (!dataless) fill_missing(p, rmw_reads[i].dest);
  }
  return Status::ok();
}

// The sectors of p the host did not write, from `old` (a whole page) or zeros.
void Card::Impl::fill_missing(WriteBuffer::Page& p, const std::byte* old) {
  const uint32_t spp = geometry.sectors_per_page();
  for (uint32_t k = 0, end = 0; k < spp; k = end) {
    for (end = k + 1; end < spp && p.present[end] == p.present[k];) ++end;
    if (p.present[k]) continue;
    const size_t at = size_t(k) * kSectorBytes, len = size_t(end - k) * kSectorBytes;
    if (old)
      std::memcpy(p.data.data() + at, old + at, len);
    else
      std::memset(p.data.data() + at, 0, len);
  }
}

// Which 4 KiB parts of a partly rewritten page hold sectors the host
// wrote: the store keeps only those (the rest is the page's current data,
// `mapped`, or zeros), so a 4 KiB write costs the image 4 KiB, not a page.
void Card::Impl::note_partial(const WriteBuffer::Page& p, bool mapped, bool damaged) {
  const uint32_t spp = geometry.sectors_per_page();
  const uint32_t per_unit = std::max<uint32_t>(1, kUnitBytes / kSectorBytes);
  uint32_t fresh = 0;
  for (uint32_t s = 0; s < spp; ++s)
    if (p.present[s]) fresh |= 1u << (s / per_unit);
  flash.note_partial_write(p.lp, fresh, mapped, damaged);
}

Status Card::Impl::do_flush() {
  if (opts.read_only || writes_held) return Status::ok();
  ++counters.flushes;
  CARDFS_RETURN_IF_ERROR(drain());
  if (ftl.trims_pending()) CARDFS_RETURN_IF_ERROR(write_checkpoint());
  CARDFS_RETURN_IF_ERROR(settle());
  return store->finish_writes();  // (a durable card's sync did it)
}

Status Card::Impl::do_discard(uint64_t sector, uint64_t sectors) {
  CARDFS_RETURN_IF_ERROR(check_writable());
  CARDFS_RETURN_IF_ERROR(check_range(sector, sectors));
  counters.host_sectors_discarded += sectors;
  const uint32_t spp = geometry.sectors_per_page();
  // A new card's (a mkfs's discard of the whole card): no page mapped or
  // lost, none buffered, so whole pages' trims change nothing; the loop
  // over them (4 M pages on 64 GiB, each read of the FTL's untouched
  // maps a page fault) was a fifth of a mkfs's CPU.
  const bool nothing_held = ftl.untouched() && buffer.empty();
  for (uint64_t s = sector; s < sector + sectors;) {
    const uint32_t lp = uint32_t(s / spp), first = uint32_t(s % spp);
    const uint32_t n = uint32_t(std::min<uint64_t>(spp - first, sector + sectors - s));
    s += n;
    if (n == spp && nothing_held) {
      s = std::max(s, (sector + sectors) / spp * spp);  // past the whole pages
      continue;
    }
    if (n == spp) {
      buffer.drop(lp, 0, spp);
      ftl.trim_page(lp);
    } else {
      // Part of a page: the card writes zeros there (trimmed data reads 0).
      std::memset(buffer.reserve(lp, first, n), 0, size_t(n) * kSectorBytes);
      if (buffer.full()) CARDFS_RETURN_IF_ERROR(drain());
    }
  }
  return Status::ok();
}

Card::Card(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Card::~Card() {
  Status st = close();
  if (!st.is_ok()) logger("sdcard")->error("closing {}: {}", impl_->store->name(), st.to_string());
}

namespace {
uint64_t sectors_of(std::span<const iovec> segments) {
  uint64_t bytes = 0;
  for (const iovec& v : segments) bytes += v.iov_len;
  return bytes / kSectorBytes;
}
}  // namespace

Status Card::read(uint64_t sector, std::span<const iovec> segments) {
  const CommandView v{.kind = CommandKind::kRead, .sector = sector, .sectors = sectors_of(segments)};
  return impl_->command(v, [&] { return impl_->do_read(sector, segments); });
}
Status Card::write(uint64_t sector, std::span<const iovec> segments, bool fua) {
  const CommandView v{
      .kind = CommandKind::kWrite, .sector = sector, .sectors = sectors_of(segments), .data = segments, .fua = fua};
  return impl_->command(v, [&] { return impl_->do_write(sector, segments, fua); });
}
Status Card::flush() {
  return impl_->command(CommandView{.kind = CommandKind::kFlush}, [&] { return impl_->do_flush(); });
}
Status Card::discard(uint64_t sector, uint64_t sectors) {
  const CommandView v{.kind = CommandKind::kDiscard, .sector = sector, .sectors = sectors};
  return impl_->command(v, [&] { return impl_->do_discard(sector, sectors); });
}

Status Card::close() {
  std::lock_guard turn(impl_->turn_mu);
  std::lock_guard state(impl_->state_mu);
  return impl_->close_locked();
}

uint64_t Card::sector_count() const { return impl_->geometry.sector_count(); }
const Profile& Card::profile() const { return impl_->profile; }
const Geometry& Card::geometry() const { return impl_->geometry; }
uint32_t Card::serial() const { return impl_->header.serial; }
bool Card::opened_clean() const { return impl_->opened_clean; }
bool Card::checkpoint_lost() const { return impl_->checkpoint_lost; }

Nanos Card::device_time() const {
  std::lock_guard state(impl_->state_mu);
  return impl_->counters.time.total();
}

CardCounters Card::counters() const {
  std::lock_guard state(impl_->state_mu);
  CardCounters c = impl_->counters;
  c.image_bytes_written = impl_->store->bytes_written();
  c.image_bytes = impl_->store->bytes_by_kind();
  return c;
}

Lifetime Card::lifetime() const {
  std::lock_guard state(impl_->state_mu);
  return impl_->lifetime();
}

Lifetime Card::Impl::lifetime() const {
  Lifetime t = lifetime_at_open;
  t.host_bytes_written += counters.host_sectors_written * 512;
  t.host_bytes_read += counters.host_sectors_read * 512;
  t.flash_bytes_programmed += counters.flash_pages_programmed * geometry.page_bytes;
  t.erases += counters.erases;
  return t;
}

std::vector<AuState> Card::au_states() const {
  std::lock_guard state(impl_->state_mu);
  return impl_->ftl.au_states();
}

void Card::set_faults(const FaultPlan& faults) {
  std::lock_guard state(impl_->state_mu);
  impl_->faults = faults;
  impl_->commands_since_faults = 0;
}

void Card::set_recorder(CommandRecorder* recorder) {
  std::lock_guard state(impl_->state_mu);
  impl_->recorder = recorder;
}

bool Card::powered_off() const {
  std::lock_guard state(impl_->state_mu);
  return impl_->flash.powered_off();
}

void Card::cut_power() {
  std::lock_guard state(impl_->state_mu);  // a command in flight finishes first
  impl_->buffer.clear();
  impl_->flash.power_off();
}

Card::FaultState Card::fault_state() const {
  std::lock_guard state(impl_->state_mu);
  return {impl_->faults, impl_->commands_since_faults, impl_->flash.powered_off()};
}

}  // namespace cardfs::sdcard
