// fsck and the journal: replay before checking (not under -n), the
// journal's blocks owned, a broken journal inode found.
#include <catch2/catch.hpp>

#include "tests/fsck/fsck_fixture.h"
#include "tests/support/journal_log.h"

namespace cardfs::fsck::testing {
namespace {

using namespace fusefs;

struct Blocks {
  TestImage& img;
  uint32_t bs() const { return img.sb().block_size(); }
  std::vector<std::byte> get(uint64_t b) {
    std::vector<std::byte> out(bs());
    img.dev().peek_bytes(b * bs(), out);
    return out;
  }
  void put(uint64_t b, std::span<const std::byte> in) { img.dev().poke_bytes(b * bs(), in); }
  journal::ReadBlock reader() {
    return [this](uint64_t b, std::span<std::byte> out) {
      img.dev().peek_bytes(b * bs(), out);
      return Status::ok();
    };
  }
};

// The image as before `late` was added, with that session's changes
// committed in the journal only.
journal::JournalExtent crash_after_commit(TestImage& img) {
  Blocks io{img};
  auto ext = journal::locate(img.sb(), io.reader());
  REQUIRE(ext.is_ok());
  const uint64_t n = img.sb().blocks_count;
  std::vector<std::vector<std::byte>> before(n);
  for (uint64_t b = 0; b < n; ++b) before[b] = io.get(b);
  img.add_file("late", "committed before the crash");
  std::vector<std::pair<uint64_t, std::vector<std::byte>>> changed;
  for (uint64_t b = 0; b < n; ++b) {
    auto now = io.get(b);
    if (now == before[b] || (b >= ext->first && b < ext->first + ext->blocks)) continue;
    io.put(b, before[b]);
    changed.emplace_back(b, std::move(now));
  }
  std::vector<journal::LoggedBlock> logged;
  for (auto& [b, bytes] : changed) logged.push_back({b, bytes});
  auto txn = journal::build_transaction(logged, {}, 5, {1, 0}, io.bs(), img.sb().csum_seed());
  auto js = journal::read_super(img.sb(), *ext, io.reader());
  REQUIRE(js.is_ok());
  cardfs::testing::log_transactions(
      img.sb(), *ext, io.reader(), [&io](uint64_t b, std::span<const std::byte> in) { io.put(b, in); },
      js->first + 3, 5, {txn});
  return *ext;
}

TEST_CASE("fsck: a fresh image's journal blocks are in use and check clean") {
  TestImage img;
  REQUIRE((img.sb().feature_compat & kCompatHasJournal));
  FsckReport r = img.fsck(Mode::kNo);
  INFO(describe(r) << "\n" << img.last_output());
  CHECK(r.exit_code == kExitClean);
}

TEST_CASE("fsck: replays a dirty journal first, then checks clean") {
  TestImage img;
  crash_after_commit(img);
  FsckReport r = img.fsck(Mode::kPreen);
  INFO(describe(r) << "\n" << img.last_output());
  CHECK(img.last_output().find("recovering journal") != std::string::npos);
  CHECK(r.exit_code == kExitClean);
  CHECK(img.verify_files() == "");  // `late` included
  r = img.fsck(Mode::kNo);
  CHECK(r.exit_code == kExitClean);
  CHECK(img.last_output().find("skipping journal recovery") == std::string::npos);
}

TEST_CASE("fsck: -n leaves a dirty journal alone and says so") {
  TestImage img;
  crash_after_commit(img);
  FsckReport r = img.fsck(Mode::kNo);
  INFO(describe(r) << "\n" << img.last_output());
  CHECK(img.last_output().find("skipping journal recovery") != std::string::npos);
  CHECK(r.exit_code == kExitClean);  // the image before the commit is consistent
  r = img.fsck(Mode::kNo);
  CHECK(img.last_output().find("skipping journal recovery") != std::string::npos);
}

TEST_CASE("fsck: a journal inode that maps no contiguous journal is found and its feature cleared") {
  TestImage img;
  Blocks io{img};
  auto ext = journal::locate(img.sb(), io.reader());
  REQUIRE(ext.is_ok());
  std::vector<std::byte> zero(io.bs());
  io.put(ext->first, zero);  // the journal superblock
  FsckReport r = img.fsck(Mode::kNo);
  CHECK(has_finding(r, Problem::kJournalBad));
  CHECK(r.exit_code == kExitUncorrected);
  r = img.fsck(Mode::kYes);
  CHECK(has_finding(r, Problem::kJournalBad));
  r = img.fsck(Mode::kNo);
  INFO(describe(r) << "\n" << img.last_output());
  CHECK_FALSE(has_finding(r, Problem::kJournalBad));
}

}  // namespace
}  // namespace cardfs::fsck::testing
