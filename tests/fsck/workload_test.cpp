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

}  // namespace cardfs::fsck::testing
