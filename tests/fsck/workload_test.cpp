// Images left by random workloads of the real filesystem always check
// clean: the checker has no false positives on what fusefs writes.
#include <catch2/catch.hpp>

#include "tests/fsck/fsck_fixture.h"

namespace cardfs::fsck::testing {

TEST_CASE("fsck: images after random workloads check clean") {
  for (uint32_t seed : {1u, 2u, 3u}) {
    INFO("seed " << seed);
    ImageSpec spec;
    spec.hashed_files = 150;
    TestImage img(spec);
    img.run_workload(seed, 600);
    FsckReport r = img.fsck(Mode::kNo);
    INFO(describe(r) << "\n" << img.last_output());
    CHECK(r.exit_code == kExitClean);
    CHECK(r.findings.empty());
    CHECK(r.stats.regular > 150 + 50);  // the workload really ran
    CHECK(r.stats.directories > 10);
  }
}

TEST_CASE("fsck: files with unwritten (fallocated) blocks check clean") {
  ImageSpec spec;
  TestImage img(spec);
  REQUIRE((img.sb().feature_incompat & fusefs::kIncompatUnwritten) != 0);
  // Direct and indirect pointers, a written block among unwritten ones, and
  // blocks past EOF (KEEP_SIZE).
  img.add_preallocated_file("pre", 300 * 1024, 150 * 1024 + 10, "written", 64 * 1024);
  for (Mode mode : {Mode::kNo, Mode::kYes}) {
    FsckReport r = img.fsck(mode);
    INFO(describe(r) << "\n" << img.last_output());
    CHECK(r.exit_code == kExitClean);
    CHECK(r.findings.empty());
  }
  CHECK(img.verify_files().empty());
}

}  // namespace cardfs::fsck::testing
