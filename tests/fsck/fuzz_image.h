// Arbitrary bytes taken as a cardfs image and run through fsck: the
// read-only checks (fsck -n over a RAM image, then the inspect decoders),
// or a repair to a fixpoint (fsck -y over a RAM copy, then fsck -n must
// find nothing). The bodies of the libFuzzer targets (fuzz_target.cpp,
// fuzz_repair_target.cpp) and of the regression test of the inputs they
// found (fuzz_regression_test.cpp). Must never crash, hang or allocate
// without bound, whatever the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace cardfs::fsck::testing {

// Inputs larger than this are ignored (fuzzing wants small images).
inline constexpr size_t kMaxFuzzImage = 64u << 20;

// Returns fsck's exit code, or -1 when the bytes were not checked
// (too small or large, or no superblock at all).
int check_image_bytes(std::span<const uint8_t> bytes);

// Repairs the bytes (fsck -y, in memory) and checks the result again
// (fsck -n). Returns what the repair left behind, one line per problem the
// second check found (or why it could not run although the repair did);
// empty when the repair reached a clean image or the bytes were not
// checked at all (as check_image_bytes).
std::string repair_leftovers(std::span<const uint8_t> bytes);

}  // namespace cardfs::fsck::testing
