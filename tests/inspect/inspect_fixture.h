// The fsck test image (tests/fsck/fsck_fixture.h) opened by an Inspector,
// read-only or writable, with run() failing the test on an error.
#pragma once

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "tests/fsck/fsck_fixture.h"
#include "tools/inspect/inspector.h"

namespace cardfs::inspect::testing {

struct InspectedImage {
  explicit InspectedImage(bool writable = false) : io(img.dev(), !writable) {
    auto in = Inspector::open(io, nullptr);
    REQUIRE(in.is_ok());
    inspector = std::move(*in);
  }
  Output run(const std::vector<std::string>& words) {
    auto out = inspector->run(words);
    INFO(out.status().to_string());
    REQUIRE(out.is_ok());
    return *out;
  }
  fsck::testing::TestImage img;
  fsck::DeviceIo io;
  std::unique_ptr<Inspector> inspector;
};

}  // namespace cardfs::inspect::testing
