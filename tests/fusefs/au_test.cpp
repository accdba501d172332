// AU-aware allocation and write-back over the emulated card: a large file
// written and fsynced must reach the card as one ascending stream of data,
// with the metadata after it in one burst, so the card's few open AUs are
// never closed and reopened (seed 004's streaming vs interleaved writes).
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <mutex>
#include <set>

#include "blockdev/queue.h"
#include "blockdev/sdcard_driver.h"
#include "sdcard/card.h"
#include "sdcard/geometry.h"
#include "sdcard/profiles.h"
#include "tests/fusefs/fs_fixture.h"

using namespace cardfs;
using namespace cardfs::fusefs;
using namespace cardfs::fusefs::testing;

namespace {

// Forwards to the queue and records every write bio (sector, sectors) in
// submission order.
class RecordingDevice final : public blockdev::BlockDevice {
 public:
  explicit RecordingDevice(blockdev::BlockDevice& inner) : inner_(inner) {}
  void submit(blockdev::BioPtr bio) override {
    if (bio->op == blockdev::BioOp::kWrite) {
      std::lock_guard lock(mu_);
      writes_.push_back({bio->sector, bio->sectors()});
    }
    inner_.submit(std::move(bio));
  }
  uint64_t sector_count() const override { return inner_.sector_count(); }
  uint32_t read_ahead_kb() const override { return inner_.read_ahead_kb(); }
  void plug_start() override { inner_.plug_start(); }
  void plug_finish() override { inner_.plug_finish(); }
  void plug_flush() override { inner_.plug_flush(); }
  std::vector<std::pair<uint64_t, uint64_t>> writes() const {
    std::lock_guard lock(mu_);
    return writes_;
  }

 private:
  blockdev::BlockDevice& inner_;
  mutable std::mutex mu_;
  std::vector<std::pair<uint64_t, uint64_t>> writes_;
};

struct StreamResult {
  sdcard::CardCounters card;
  double wa = 0;
  uint64_t au_entries = 0;    // times the write stream moved into an AU
  uint64_t distinct_aus = 0;  // AUs written at all
  uint64_t file_ino = 0;
};

// Formats a `card_mib` card of `profile`, writes `file_mib` MiB in 128 KiB
// writes (the FUSE default max_write) with the writer doing background
// write-back itself (throttled above dirty_ratio, the virtual clock moving
// with its sleeps) and the daemon's periodic passes every 5 s of virtual
// time (20 ms per MiB on top), then fsyncs. Card counters cover write + fsync.
StreamResult stream_file(const std::string& profile_name, uint64_t card_mib, uint64_t file_mib,
                         cache::Tunables tun = {}) {
  const std::string dir = std::filesystem::temp_directory_path() /
                          ("cardfs-au-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  StreamResult r;
  VirtualClock clock;
  auto profile = sdcard::find_profile(profile_name);
  REQUIRE(profile.is_ok());
  auto card = sdcard::Card::create(dir + "/card.img", **profile, card_mib << 20, clock);
  REQUIRE(card.is_ok());
  {
    blockdev::SdcardDriver driver(**card);
    blockdev::Queue queue(driver, clock);
    RecordingDevice rec(queue);
    cache::PageCache cache(rec, clock, 4096, tun);
    FormatOptions o;
    o.au_size = uint32_t((*card)->geometry().au_bytes());
    REQUIRE(format(cache, (*card)->sector_count() * 512, o).is_ok());
    auto fs = Filesystem::mount(cache, clock, 4096);
    REQUIRE(fs.is_ok());
    auto f = (*fs)->mknod(kRootIno, "f128", S_IFREG | 0644, 0, {});
    REQUIRE(f.is_ok());
    REQUIRE((*fs)->sync().is_ok());
    queue.wait_idle();
    const size_t before = rec.writes().size();
    const auto c0 = (*card)->counters();
    std::vector<std::byte> chunk(128 << 10);
    Nanos next_pass = clock.now() + std::chrono::seconds(5);
    for (uint64_t off = 0; off < (file_mib << 20); off += chunk.size()) {
      REQUIRE((*fs)->write(f->ino, off, chunk).is_ok());
      clock.advance(std::chrono::microseconds(2500));
      if (clock.now() >= next_pass) {
        next_pass = clock.now() + std::chrono::seconds(5);
        REQUIRE((*fs)->flush_metadata().is_ok());
        cache.run_flusher_once();
      }
    }
    REQUIRE((*fs)->fsync(f->ino, false).is_ok());
    queue.wait_idle();
    auto c1 = (*card)->counters();
    r.card = c1;
    r.card.merges = c1.merges - c0.merges;
    r.card.merge_pages_copied = c1.merge_pages_copied - c0.merge_pages_copied;
    r.card.flash_pages_programmed = c1.flash_pages_programmed - c0.flash_pages_programmed;
    r.card.host_sectors_written = c1.host_sectors_written - c0.host_sectors_written;
    r.card.time.merge = c1.time.merge - c0.time.merge;
    const Nanos total = c1.time.total() - c0.time.total();
    r.card.time = {};
    r.card.time.command = total;  // the whole device time, in one field
    r.wa = r.card.write_amplification((*card)->geometry().page_bytes);
    const uint64_t au_sectors = (*card)->geometry().au_bytes() / 512;
    auto w = rec.writes();
    std::set<uint64_t> seen;
    uint64_t cur = ~0ull;
    for (size_t i = before; i < w.size(); ++i) {
      for (uint64_t au = w[i].first / au_sectors; au <= (w[i].first + w[i].second - 1) / au_sectors;
           ++au) {
        if (au != cur) ++r.au_entries;
        cur = au;
        seen.insert(au);
      }
    }
    r.distinct_aus = seen.size();
    r.file_ino = f->ino;
    REQUIRE((*fs)->unmount().is_ok());
    queue.wait_idle();
  }
  REQUIRE((*card)->close().is_ok());
  std::filesystem::remove_all(dir);
  return r;
}

void report(const std::string& profile, const StreamResult& r) {
  WARN(profile << ": device time " << double(r.card.time.command.count()) / 1e9 << " s, "
               << r.card.merges << " merges (" << r.card.merge_pages_copied << " pages copied), WA "
               << r.wa << ", AU entries " << r.au_entries << " over " << r.distinct_aus << " AUs");
}

}  // namespace

TEST_CASE("file data fills data AUs in order; indirect and directory blocks go to metadata AUs",
          "[fusefs][au]") {
  TestFs t(sized(256ull << 20));  // 2 groups of 128 MiB, 4 MiB AUs: metadata AUs 0 and 32
  const uint64_t au = t->superblock().au_size / 4096;
  REQUIRE(au == 1024);
  auto meta_au = [&](uint64_t b) { return b / au == 0 || b / au == 32; };
  auto dir = t->mkdir(kRootIno, "d", 0755, {});
  REQUIRE(dir.is_ok());
  auto f = t->mknod(kRootIno, "big", S_IFREG | 0644, 0, {});  // group 0 (d went elsewhere)
  REQUIRE(f.is_ok());
  // 140 MiB: past the double indirect level and across the group boundary.
  std::vector<std::byte> chunk(1 << 20, std::byte{7});
  for (uint64_t off = 0; off < (140ull << 20); off += chunk.size())
    REQUIRE(t->write(f->ino, off, chunk).is_ok());
  uint64_t prev = 0, jumps = 0;
  for (uint64_t fb = 0; fb < 140 * 256; ++fb) {
    auto b = t->bmap(f->ino, fb);
    REQUIRE(b.is_ok());
    INFO("file block " << fb << " at " << *b);
    REQUIRE(!meta_au(*b));
    if (fb == 0) CHECK(*b / au == 1);  // the first data AU, not the metadata AU's free tail
    if (fb && *b != prev + 1) {
      ++jumps;
      CHECK(*b == 33 * au);  // the only jump: over group 1's metadata AU
    }
    prev = *b;
  }
  CHECK(jumps == 1);
  auto d = t->inspect_inode(f->ino);
  REQUIRE(d.is_ok());
  CHECK(meta_au(d->block[10]));
  CHECK(meta_au(d->block[11]));
  auto dd = t->inspect_inode(dir->ino);
  REQUIRE(dd.is_ok());
  CHECK(meta_au(dd->block[0]));
  REQUIRE(t->setxattr(f->ino, "user.tag", bytes_of("x"), 0).is_ok());
  d = t->inspect_inode(f->ino);
  REQUIRE(d.is_ok());
  CHECK(meta_au(d->xattr_block));
  CHECK(t->check_free_counts().is_ok());
}

TEST_CASE("data spills into metadata AUs only when the data AUs are full", "[fusefs][au]") {
  TestFs t(sized(64ull << 20));  // one group; AU 0 holds its metadata
  const uint64_t au = t->superblock().au_size / 4096;
  auto f = t->mknod(kRootIno, "fill", S_IFREG | 0644, 0, {});
  REQUIRE(f.is_ok());
  std::vector<std::byte> chunk(1 << 20);
  uint64_t off = 0;
  for (;; off += chunk.size()) {
    auto n = t->write(f->ino, off, chunk);
    if (!n.is_ok()) {
      CHECK(n.status().code() == ENOSPC);
      break;
    }
  }
  // Some data had to go into AU 0 at the end, after the 15 data AUs.
  uint64_t in_meta = 0;
  for (uint64_t fb = 0; fb < off / 4096; ++fb) {
    auto b = t->bmap(f->ino, fb);
    REQUIRE(b.is_ok());
    if (*b && *b / au == 0) ++in_meta;
    if (fb < 15 * au - 64) CHECK(*b / au != 0);
  }
  CHECK(in_meta > 0);
  CHECK(t->check_free_counts().is_ok());
}

TEST_CASE("a large fsynced file reaches the card as one pass over its AUs", "[fusefs][au]") {
  // seed-class10 keeps 2 AUs open, seed-class4 one: leaving an AU and coming
  // back to it costs a merge. 24 MiB uses the double indirect level; an
  // 8 MiB cache makes the writer do background write-back and be throttled
  // all along. The throttle's sleeps move the virtual clock far faster than
  // the card works, so expiry (which does write metadata, tested in
  // tests/cache) is set out of reach.
  cache::Tunables tun;
  tun.cache_size = 8 << 20;
  tun.dirty_expire_centisecs = 1u << 31;
  for (const char* p : {"seed-class10", "seed-class4"}) {
    auto r = stream_file(p, 64, 24, tun);
    INFO(p << ": " << r.au_entries << " AU entries over " << r.distinct_aus << " AUs, "
           << r.card.merges << " merges, WA " << r.wa);
    CHECK(r.au_entries == r.distinct_aus);  // no AU entered twice
    CHECK(r.distinct_aus == 7);             // 6 data AUs + the metadata AU
    CHECK(r.card.merges <= 1);              // at most the metadata AU's fold
    CHECK(r.wa < 1.1);
  }
}

TEST_CASE("128 MiB through the filesystem on the seed cards", "[.][au-bench]") {
  for (const char* p : {"seed-class10", "seed-class4", "class10"}) report(p, stream_file(p, 512, 128));
}
