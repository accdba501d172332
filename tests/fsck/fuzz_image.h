// Arbitrary bytes taken as a cardfs image and run through the read-only
// checks: fsck -n over a RAM image, then the inspect decoders. The body of
// the libFuzzer target (fuzz_target.cpp) and of the regression test of the
// inputs it found (fuzz_regression_test.cpp). Must never crash, hang or
// allocate without bound, whatever the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace cardfs::fsck::testing {

// Inputs larger than this are ignored (fuzzing wants small images).
inline constexpr size_t kMaxFuzzImage = 64u << 20;

// Returns fsck's exit code, or -1 when the bytes were not checked
// (too small or large, or no superblock at all).
int check_image_bytes(std::span<const uint8_t> bytes);

}  // namespace cardfs::fsck::testing
