#include "base/status.h"

#include <catch2/catch.hpp>

using cardfs::Result;
using cardfs::Status;

namespace {
Result<int> parse_positive(int v) {
  if (v <= 0) return Status::error(EINVAL, "not positive");
  return v;
}
Status double_positive(int v, int& out) {
  CARDFS_ASSIGN_OR_RETURN(int x, parse_positive(v));
  out = 2 * x;
  return Status::ok();
}
}  // namespace

TEST_CASE("Status carries errno and message with context") {
  Status ok = Status::ok();
  CHECK(ok.is_ok());
  CHECK(ok.to_string() == "ok");
  Status err = Status::error(ENOSPC, "card full").with_context("writing sector 8");
  CHECK_FALSE(err.is_ok());
  CHECK(err.code() == ENOSPC);
  CHECK(err.message() == "writing sector 8: card full");
  CHECK(err.to_string().find("No space left") != std::string::npos);
}

TEST_CASE("Result holds a value or the error and the macros propagate it") {
  int out = 0;
  CHECK(double_positive(21, out).is_ok());
  CHECK(out == 42);
  Status st = double_positive(-1, out);
  CHECK(st.code() == EINVAL);
  CHECK(out == 42);
  auto r = parse_positive(3);
  REQUIRE(r.is_ok());
  CHECK(*r == 3);
  CHECK(r.status().is_ok());
}
