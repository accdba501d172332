#include "base/parse.h"

#include <catch2/catch.hpp>

using cardfs::IntegerSyntax;
using cardfs::parse_size;
using cardfs::parse_u32;
using cardfs::parse_uint;

TEST_CASE("parse_uint reads plain decimal integers and nothing else") {
  CHECK(*parse_uint("0") == 0);
  CHECK(*parse_uint("4096") == 4096);
  CHECK(*parse_uint("18446744073709551615") == UINT64_MAX);
  CHECK(parse_uint("18446744073709551616").status().code() == ERANGE);
  CHECK(parse_uint("").status().code() == EINVAL);
  CHECK(parse_uint("-1").status().code() == EINVAL);
  CHECK(parse_uint("-1").status().message().find("negative") != std::string::npos);
  CHECK(parse_uint("+1").status().code() == EINVAL);
  CHECK(parse_uint(" 1").status().code() == EINVAL);
  CHECK(parse_uint("12abc").status().code() == EINVAL);
  CHECK(parse_uint("0x10").status().code() == EINVAL);  // hex only when asked for
  CHECK(*parse_uint("010") == 10);                       // and no octal either
}

TEST_CASE("parse_uint with C literals reads hex and octal as debugfs does") {
  const auto c = IntegerSyntax::kCLiteral;
  CHECK(*parse_uint("0", c) == 0);
  CHECK(*parse_uint("0x1F", c) == 31);
  CHECK(*parse_uint("0100644", c) == 0100644);
  CHECK(*parse_uint("42", c) == 42);
  CHECK(parse_uint("0x", c).status().code() == EINVAL);
  CHECK(parse_uint("08", c).status().code() == EINVAL);
  CHECK(parse_uint("-0x1", c).status().code() == EINVAL);
  CHECK(parse_uint("0x1g", c).status().code() == EINVAL);
}

TEST_CASE("parse_uint enforces the caller's maximum") {
  CHECK(*parse_uint("255", IntegerSyntax::kDecimal, 255) == 255);
  CHECK(parse_uint("256", IntegerSyntax::kDecimal, 255).status().code() == ERANGE);
  CHECK(*parse_u32("4294967295") == UINT32_MAX);
  CHECK(parse_u32("4294967296").status().code() == ERANGE);
}

TEST_CASE("parse_size: K/M/G/T and KiB… are binary, KB… decimal, any case") {
  CHECK(*parse_size("4096") == 4096);
  CHECK(*parse_size("512k") == 512ull << 10);
  CHECK(*parse_size("64M") == 64ull << 20);
  CHECK(*parse_size("64MiB") == 64ull << 20);
  CHECK(*parse_size("64mib") == 64ull << 20);
  CHECK(*parse_size("1G") == 1ull << 30);
  CHECK(*parse_size("2T") == 2ull << 40);
  CHECK(*parse_size("1TiB") == 1ull << 40);
  CHECK(*parse_size("1KB") == 1000);
  CHECK(*parse_size("3MB") == 3000000);
  CHECK(*parse_size("1gb") == 1000000000);
  CHECK(*parse_size("1TB") == 1000000000000ull);
}

TEST_CASE("parse_size refuses what it cannot read exactly") {
  for (const char* bad : {"", "M", "1.5G", "1 G", "1GG", "1B", "1Mi", "-1", "-1M", "1Q", "0x10"}) {
    INFO(bad);
    CHECK(parse_size(bad).status().code() == EINVAL);
  }
  CHECK(parse_size("99999999999999999999").status().code() == ERANGE);
  CHECK(parse_size("17179869184G").status().code() == ERANGE);  // overflows 64 bits
  CHECK(parse_size("17179869184G").status().message().find("17179869184G") != std::string::npos);
  CHECK(*parse_size("16777215T") == 16777215ull << 40);
}
