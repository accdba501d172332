#include <catch2/catch.hpp>

#include "sdcard/geometry.h"
#include "sdcard/registers.h"
#include "tests/sdcard/card_fixture.h"

namespace cardfs::sdcard {
namespace {

constexpr uint64_t MiB = 1 << 20;

uint64_t field(const std::vector<RegisterField>& fields, const std::string& name) {
  for (const RegisterField& f : fields)
    if (f.name == name) return f.raw;
  FAIL("no field " << name);
  return 0;
}

TEST_CASE("crc7 matches the SD specification's CMD0 example", "[sdcard][registers]") {
  const uint8_t cmd0[] = {0x40, 0, 0, 0, 0};
  CHECK(crc7(cmd0) == 0x4A);  // CMD0 is sent as 40 00 00 00 00 95
}

TEST_CASE("registers encode the profile and decode back", "[sdcard][registers]") {
  const Profile& p = testing::profile("uhs1-u3");
  const Geometry g = *make_geometry(p, 64 * MiB);
  const Registers r = encode_registers(p, g, 0x12345678);
  const auto ssr = decode_ssr(r.ssr);
  CHECK(field(ssr, "AU_SIZE") == 9);  // 4 MiB
  CHECK(field(ssr, "SPEED_CLASS") == 4);  // class 10
  CHECK(field(ssr, "UHS_SPEED_GRADE") == 3);
  CHECK(field(ssr, "VIDEO_SPEED_CLASS") == 30);
  CHECK(field(ssr, "DAT_BUS_WIDTH") == 2);
  const auto cid = decode_cid(r.cid);
  CHECK(field(cid, "PSN") == 0x12345678);
  CHECK((r.cid[15] & 1) == 1);
  CHECK(field(cid, "CRC") == crc7(std::span<const uint8_t>(r.cid.data(), 15)));
  const auto csd = decode_csd(r.csd);
  CHECK(field(csd, "CSD_STRUCTURE") == 0);  // 64 MiB: standard capacity
  CHECK(field(csd, "capacity") == 64 * MiB);
  CHECK(field(decode_ssr(encode_registers(testing::profile("a2"), g, 1).ssr), "APP_PERF_CLASS") == 2);
}

TEST_CASE("high-capacity cards use CSD 2.0", "[sdcard][registers]") {
  const Profile& p = testing::profile("class10");
  const Geometry g = *make_geometry(p, 8192 * MiB);
  const auto csd = decode_csd(encode_registers(p, g, 1).csd);
  CHECK(field(csd, "CSD_STRUCTURE") == 1);
  CHECK(field(csd, "C_SIZE") == 8192 * MiB / (512 * 1024) - 1);
  CHECK(field(csd, "capacity") == 8192 * MiB);
}

TEST_CASE("AU sizes follow the SD specification's limits", "[sdcard][registers]") {
  CHECK(au_size_code(4 * MiB) == 9);
  CHECK(au_bytes_from_code(0xF) == 64 * MiB);
  CHECK(au_size_code(5 * MiB) == 0);
  Profile big = testing::profile("class10");
  big.au_bytes = 16 * MiB;
  CHECK_FALSE(make_geometry(big, 1024 * MiB).is_ok());       // SDHC: at most 4 MiB
  CHECK(make_geometry(big, 64 * 1024 * MiB).is_ok());         // SDXC: up to 64 MiB
}

}  // namespace
}  // namespace cardfs::sdcard
