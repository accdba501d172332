// libFuzzer target: arbitrary bytes as a cardfs image repaired to a
// fixpoint: fsck -y on a RAM copy, then fsck -n must find nothing
// (tests/fsck/fuzz_image.h). A problem the repair left behind aborts with
// its sentence; a crash or sanitizer report during the repair is one too.
// Built with clang only (-DCARDFS_FUZZ=ON); how to run it: docs/fsck.md.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "tests/fsck/fuzz_image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string left = cardfs::fsck::testing::repair_leftovers({data, size});
  if (!left.empty()) {
    std::fprintf(stderr, "fsck -y left problems that fsck -n still finds:\n%s", left.c_str());
    std::abort();
  }
  return 0;
}
