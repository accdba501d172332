// The 128 MiB stream of au_test.cpp on the seed cards, reported rather
// than checked (a measurement, not a test): scripts/bench/au_bench.sh.
#include <catch2/catch.hpp>

#include "tests/fusefs/au_stream.h"

using cardfs::fusefs::testing::stream_file;
using cardfs::fusefs::testing::stream_report;

TEST_CASE("128 MiB through the filesystem on the seed cards") {
  for (const char* p : {"seed-class10", "seed-class4", "class10"})
    WARN(stream_report(p, stream_file(p, 512, 128)));
}
