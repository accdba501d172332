// libFuzzer target: arbitrary bytes as a cardfs image through fsck -n and
// the inspect decoders (tests/fsck/fuzz_image.h). Built with clang only
// (-DCARDFS_FUZZ=ON); how to run it: docs/fsck.md.
#include <cstddef>
#include <cstdint>

#include "tests/fsck/fuzz_image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)cardfs::fsck::testing::check_image_bytes({data, size});
  return 0;
}
