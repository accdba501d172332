#include "tests/fusefs/au_stream.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <sstream>
#include <filesystem>
#include <set>

#include "blockdev/queue.h"
#include "blockdev/sdcard_driver.h"
#include "sdcard/card.h"
#include "sdcard/geometry.h"
#include "sdcard/profiles.h"
#include "tests/fusefs/fs_fixture.h"
#include "tests/support/fake_device.h"
#include "tests/support/scratch_dir.h"

namespace cardfs::fusefs::testing {
namespace {

// Every write bio the cache sent the queue, in submission order.
std::vector<cardfs::testing::RecordedBio> writes(const cardfs::testing::FakeDevice& rec) {
  std::vector<cardfs::testing::RecordedBio> out;
  for (const auto& b : rec.log())
    if (b.op == blockdev::BioOp::kWrite) out.push_back(b);
  return out;
}

}  // namespace

StreamResult stream_file(const std::string& profile_name, uint64_t card_mib, uint64_t file_mib,
                         cache::Tunables tun) {
  cardfs::testing::ScratchDir dir("au");
  StreamResult r;
  VirtualClock clock;
  auto profile = sdcard::find_profile(profile_name);
  REQUIRE(profile.is_ok());
  auto card = sdcard::Card::create(dir.path("card.img"), **profile, card_mib << 20, clock);
  REQUIRE(card.is_ok());
  {
    blockdev::SdcardDriver driver(**card);
    blockdev::Queue queue(driver, clock);
    cardfs::testing::FakeDevice rec({.forward_to = &queue});  // records, passes on
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
    const size_t before = writes(rec).size();
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
    auto w = writes(rec);
    std::set<uint64_t> seen;
    uint64_t cur = ~0ull;
    for (size_t i = before; i < w.size(); ++i) {
      for (uint64_t au = w[i].sector / au_sectors; au <= (w[i].sector + w[i].sectors - 1) / au_sectors;
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
  return r;
}

std::string stream_report(const std::string& profile, const StreamResult& r) {
  std::ostringstream o;
  o << profile << ": device time " << double(r.card.time.command.count()) / 1e9 << " s, "
    << r.card.merges << " merges (" << r.card.merge_pages_copied << " pages copied), WA " << r.wa
    << ", AU entries " << r.au_entries << " over " << r.distinct_aus << " AUs";
  return o.str();
}

}  // namespace cardfs::fusefs::testing
