// The journal's promise, swept: a metadata-heavy workload on an emulated
// card (memory store) whose power is cut after card command N, for every N
// of a range, twice: before command N+1 does anything, and with N+1
// programming a few pages and tearing the next (FaultPlan::Cut).
// After each cut: mount replays the journal, every name that was fsync'd
// holds its content, each rename is wholly done or not done (the "write
// tmp, fsync, rename over the target, fsync the directory" idiom never
// loses the target), the group counts agree with the bitmaps, and after
// unmount fsck -n finds nothing at all.
// CARDFS_SWEEP_ALL=1 cuts after every command of the workload (default:
// the first 150, then every 3rd).
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/log.h"
#include "fusefs/filesystem.h"
#include "fusefs/mkfs.h"
#include "sdcard/card.h"
#include "sdcard/memory_medium.h"
#include "sdcard/page_store.h"
#include "sdcard/profiles.h"
#include "tools/fsck/fsck.h"
#include "tools/fsck/image_io.h"
#include "tests/support/card_stack.h"

namespace cardfs::fsck::testing {
namespace {

using fusefs::Attr;
using fusefs::Filesystem;
using fusefs::Ino;
using fusefs::kRootIno;

constexpr uint64_t kCardBytes = 32ull << 20;
constexpr uint32_t kBs = 4096;

using cardfs::testing::CardStack;

std::shared_ptr<sdcard::MemoryMedium> formatted_card(Clock& clock) {
  auto medium = std::make_shared<sdcard::MemoryMedium>();
  auto profile = sdcard::find_profile("class10");
  REQUIRE(profile.is_ok());
  auto card = sdcard::Card::create(sdcard::memory_store(medium), **profile, kCardBytes, clock);
  REQUIRE(card.is_ok());
  CardStack s(std::move(*card), clock, kBs);
  fusefs::FormatOptions f;
  f.block_size = kBs;
  f.journal_blocks = 64;  // small: the workload wraps the ring and checkpoints
  for (int i = 0; i < 16; ++i) f.uuid[i] = uint8_t(i + 1);
  REQUIRE(fusefs::format(*s.cache, kCardBytes, f).is_ok());
  REQUIRE(s.card->close().is_ok());
  return medium;
}

std::span<const std::byte> bytes(const std::string& s) { return std::as_bytes(std::span(s)); }

std::string content(const std::string& tag, size_t size) {
  std::string s;
  while (s.size() < size) s += tag + ":" + std::to_string(s.size()) + ";";
  s.resize(size);
  return s;
}

// What must hold after a cut. synced: name in / -> content of every file
// fsync'd (with its directory) and unchanged since. rename: the one in
// progress, if any: `to` holds `content` and `from` is gone, or `to`
// holds `old_to` and `from` holds `content`.
struct Promises {
  std::map<std::string, std::string> synced;
  struct Rename {
    std::string from, to, content, old_to;
  };
  std::optional<Rename> rename;
  // Unlinked since their last commit: absent, or still holding this.
  std::map<std::string, std::string> maybe;
};

Result<Ino> put(Filesystem& fs, Ino dir, const std::string& name, const std::string& data) {
  CARDFS_ASSIGN_OR_RETURN(Attr a, fs.mknod(dir, name, S_IFREG | 0644, 0, {}));
  CARDFS_RETURN_IF_ERROR(fs.write(a.ino, 0, bytes(data)).status());
  fs.forget(a.ino, 1);
  return a.ino;
}

// Creates, renames over existing names, unlinks of open files, truncates,
// a directory growing into an index, an overwrite with fdatasync, fsyncs.
// Stops at the first error (the card died).
Status workload(Filesystem& fs, Promises& p) {
  CARDFS_ASSIGN_OR_RETURN(Attr d, fs.mkdir(kRootIno, "d", 0755, {}));
  fs.forget(d.ino, 1);
  for (int i = 0; i < 6; ++i) {
    const std::string name = "f" + std::to_string(i), data = content(name, 3000 + 9000 * i);
    CARDFS_ASSIGN_OR_RETURN(Ino ino, put(fs, kRootIno, name, data));
    CARDFS_RETURN_IF_ERROR(fs.fsync(ino, false));
    p.synced[name] = data;
  }
  for (int i = 0; i < 4; ++i) {
    const std::string target = "f" + std::to_string(i), data = content("new" + target, 5000 + 3000 * i);
    CARDFS_ASSIGN_OR_RETURN(Ino ino, put(fs, kRootIno, "tmp", data));
    CARDFS_RETURN_IF_ERROR(fs.fsync(ino, false));
    p.rename = Promises::Rename{"tmp", target, data, p.synced[target]};
    p.synced.erase(target);
    CARDFS_RETURN_IF_ERROR(fs.rename(kRootIno, "tmp", kRootIno, target));
    CARDFS_RETURN_IF_ERROR(fs.fsync(kRootIno, false));
    p.rename.reset();
    p.synced[target] = data;
  }
  // Unlink of an open file (the orphan list), truncates that free blocks.
  CARDFS_ASSIGN_OR_RETURN(Attr open, fs.lookup(kRootIno, "f4"));
  CARDFS_RETURN_IF_ERROR(fs.open(open.ino));
  p.synced.erase("f4");
  CARDFS_RETURN_IF_ERROR(fs.unlink(kRootIno, "f4"));
  CARDFS_RETURN_IF_ERROR(fs.truncate(open.ino, 100));
  CARDFS_ASSIGN_OR_RETURN(Attr f5, fs.lookup(kRootIno, "f5"));
  p.synced.erase("f5");
  CARDFS_RETURN_IF_ERROR(fs.truncate(f5.ino, 4096 + 7));
  CARDFS_RETURN_IF_ERROR(fs.fsync(f5.ino, false));
  p.synced["f5"] = content("f5", 3000 + 9000 * 5).substr(0, 4096 + 7);
  // An overwrite in place, fdatasync'd (no metadata needed).
  const std::string over = "overwritten";
  CARDFS_ASSIGN_OR_RETURN(Attr f1, fs.lookup(kRootIno, "f1"));
  p.synced.erase("f1");
  CARDFS_RETURN_IF_ERROR(fs.write(f1.ino, 10, bytes(over)).status());
  CARDFS_RETURN_IF_ERROR(fs.fsync(f1.ino, true));
  std::string f1_now = content("newf1", 8000);
  f1_now.replace(10, over.size(), over);
  p.synced["f1"] = f1_now;
  fs.forget(f1.ino, 1);
  fs.forget(f5.ino, 1);
  // An unlink whose blocks a new file could take before the unlink
  // commits: the new file's data must not land in what f2 still owns.
  p.maybe["f2"] = p.synced["f2"];
  p.synced.erase("f2");
  CARDFS_RETURN_IF_ERROR(fs.unlink(kRootIno, "f2"));
  const std::string g = content("g", 40000);
  CARDFS_ASSIGN_OR_RETURN(Ino gi, put(fs, kRootIno, "g", g));
  CARDFS_RETURN_IF_ERROR(fs.fsync(gi, false));
  p.maybe.clear();
  p.synced["g"] = g;
  // A directory growing into an index, files removed from it again.
  for (int i = 0; i < 140; ++i)
    CARDFS_RETURN_IF_ERROR(
        put(fs, d.ino, "a-rather-long-name-for-growth-" + std::to_string(i), "x").status());
  for (int i = 0; i < 140; i += 3)
    CARDFS_RETURN_IF_ERROR(fs.unlink(d.ino, "a-rather-long-name-for-growth-" + std::to_string(i)));
  CARDFS_RETURN_IF_ERROR(fs.fsync(d.ino, false));
  fs.release(open.ino);
  fs.forget(open.ino, 1);
  return fs.sync();
}

std::string read_all(Filesystem& fs, const std::string& name) {
  auto a = fs.lookup(kRootIno, name);
  if (!a.is_ok()) return "<absent>";
  std::string buf(a->size, '\0');
  auto n = fs.read(a->ino, 0, std::as_writable_bytes(std::span(buf)));
  fs.forget(a->ino, 1);
  if (!n.is_ok()) return "<unreadable: " + n.status().to_string() + ">";
  buf.resize(*n);
  return buf;
}

// Mount after the cut: the promises hold; then fsck -n after unmount.
void check_after_cut(const std::shared_ptr<sdcard::MemoryMedium>& medium, const Promises& p,
                     Clock& clock) {
  {
    auto card = sdcard::Card::open(sdcard::memory_store(medium), clock);
    REQUIRE(card.is_ok());
    CardStack s(std::move(*card), clock, kBs);
    auto fs = Filesystem::mount(*s.cache, clock, kBs);
    REQUIRE(fs.is_ok());
    for (const auto& [name, data] : p.synced) {
      INFO("fsync'd file " << name);
      CHECK(read_all(**fs, name) == data);
    }
    for (const auto& [name, data] : p.maybe) {
      INFO("file " << name << " unlinked after its fsync");
      const std::string now = read_all(**fs, name);
      CHECK((now == "<absent>" || now == data));
    }
    if (p.rename) {
      const std::string to = read_all(**fs, p.rename->to), from = read_all(**fs, p.rename->from);
      INFO("rename " << p.rename->from << " -> " << p.rename->to << ": to " << to.size()
                     << " bytes, from " << from.size());
      CHECK(((to == p.rename->content && from == "<absent>") ||
             (to == p.rename->old_to && from == p.rename->content)));
    }
    CHECK((*fs)->check_free_counts().is_ok());
    REQUIRE((*fs)->unmount().is_ok());
    REQUIRE(s.card->close().is_ok());
  }
  auto card = sdcard::Card::open(sdcard::memory_store(medium), clock);
  REQUIRE(card.is_ok());
  CardStack s(std::move(*card), clock, kBs);
  DeviceIo io(*s.queue, true);
  FsckOptions o;
  o.force = true;
  std::string out;
  o.out = [&out](const std::string& line) { out += line + "\n"; };
  auto r = check_filesystem(io, o);
  INFO(out);
  REQUIRE(r.is_ok());
  CHECK(r->exit_code == kExitClean);
  CHECK(r->findings.empty());
}

// A power-on copy of a card kept in memory (its non-zero chunks).
std::shared_ptr<sdcard::MemoryMedium> copy_of(sdcard::MemoryMedium& base) {
  auto copy = std::make_shared<sdcard::MemoryMedium>();
  auto size = base.size();
  REQUIRE(size.is_ok());
  REQUIRE(copy->set_size(*size).is_ok());
  std::vector<std::byte> buf(1 << 20);
  for (uint64_t at = 0; at < *size; at += buf.size()) {
    auto chunk = std::span(buf).first(std::min<uint64_t>(buf.size(), *size - at));
    REQUIRE(base.read_at(at, chunk).is_ok());
    if (std::all_of(chunk.begin(), chunk.end(), [](std::byte b) { return b == std::byte{0}; }))
      continue;
    REQUIRE(copy->write_at(at, chunk).is_ok());
  }
  return copy;
}

// One run with the power cut after command n (0: none). Returns whether
// the cut happened (false: the workload ended before command n).
bool run_with_cut(sdcard::MemoryMedium& base, uint64_t n, sdcard::FaultPlan::Cut how,
                  Clock& clock) {
  auto medium = copy_of(base);
  Promises p;
  bool cut;
  {
    sdcard::CardOptions opts;
    opts.faults.power_cut_after = n;
    opts.faults.cut = how;
    opts.faults.seed = n;
    auto card = sdcard::Card::open(sdcard::memory_store(medium), clock, opts);
    REQUIRE(card.is_ok());
    CardStack s(std::move(*card), clock, kBs);
    auto fs = Filesystem::mount(*s.cache, clock, kBs);
    if (fs.is_ok()) {
      s.fs = std::move(*fs);
      Status st = workload(*s.fs, p);
      if (st.is_ok()) st = s.fs->unmount();
      if (st.is_ok()) st = s.card->close();
      INFO("the workload, unmount and close: " << st.to_string());
      REQUIRE((st.is_ok() || s.card->powered_off()));
    }
    cut = s.card->powered_off();
  }
  INFO("power cut after card command " << n
                                       << (how == sdcard::FaultPlan::Cut::kTorn ? ", torn" : ""));
  check_after_cut(medium, p, clock);
  return cut;
}

TEST_CASE("journal sweep: a power cut after any card command needs no repair and keeps every fsync") {
  // Every cut logs the card's and the cache's failures: thousands of lines.
  const auto level = logger("fusefs")->level();
  set_log_level(spdlog::level::off);
  VirtualClock clock;
  const auto base = formatted_card(clock);
  const bool all = std::getenv("CARDFS_SWEEP_ALL") != nullptr;
  uint64_t n = 1;
  for (; n < 100000; n += (all || n < 150) ? 1 : 3) {
    const bool cut = run_with_cut(*base, n, sdcard::FaultPlan::Cut::kBetween, clock);
    (void)run_with_cut(*base, n, sdcard::FaultPlan::Cut::kTorn, clock);
    if (!cut) break;
  }
  CHECK(n > 80);  // the workload is long enough for the sweep to mean something
  WARN("the workload took " << n << " card commands");
  run_with_cut(*base, 0, sdcard::FaultPlan::Cut::kSeeded, clock);  // no cut: it all holds too
  set_log_level(level);
}

}  // namespace
}  // namespace cardfs::fsck::testing
