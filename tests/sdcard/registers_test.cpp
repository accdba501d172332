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

namespace cardfs::sdcard {
namespace {

std::string meaning(const std::vector<RegisterField>& fields, const std::string& name) {
  for (const RegisterField& f : fields)
    if (f.name == name) return f.meaning;
  FAIL("no field " << name);
  return "";
}

TEST_CASE("TAAC and TRAN_SPEED decode as time value times unit", "[sdcard][registers]") {
  CHECK(taac_text(0x0E) == "1 ms");     // value 1.0, unit 1 ms: CSD 2.0's fixed TAAC
  CHECK(taac_text(0x26) == "1.5 ms");   // 1.5 x 1 ms
  CHECK(taac_text(0x5D) == "500 µs");   // 5.0 x 100 µs
  CHECK(taac_text(0x78) == "8 ns");     // 8.0 x 1 ns
  CHECK(taac_text(0x07) == "reserved"); // value 0
  CHECK(tran_speed_text(0x32) == "25 Mbit/s per data line");   // default speed
  CHECK(tran_speed_text(0x5A) == "50 Mbit/s per data line");   // high speed
  CHECK(tran_speed_text(0x0B) == "100 Mbit/s per data line");  // SDR50
  CHECK(tran_speed_text(0x2B) == "200 Mbit/s per data line");  // SDR104
  CHECK(tran_speed_text(0x48) == "400 kbit/s per data line");  // 4.0 x 100 kbit/s
  CHECK(tran_speed_text(0x0C) == "reserved");                  // unit 4
}

TEST_CASE("card info decodes every CSD field as the SD specification defines it", "[sdcard][registers]") {
  const Profile& p = testing::profile("class10");
  const auto v1 = decode_csd(encode_registers(p, *make_geometry(p, 64 * MiB), 1).csd);
  CHECK(meaning(v1, "TAAC") == "read access time 1 ms");
  CHECK(meaning(v1, "TRAN_SPEED") == "50 Mbit/s per data line");
  CHECK(meaning(v1, "CCC") ==
        "classes 0 (basic) 2 (block read) 4 (block write) 5 (erase) 7 (lock card) 8 (application "
        "specific) 10 (switch)");
  CHECK(meaning(v1, "READ_BL_LEN") == "512 bytes");
  CHECK(meaning(v1, "VDD_R_CURR_MIN") == "100 mA");
  CHECK(meaning(v1, "VDD_W_CURR_MAX") == "80 mA");
  CHECK(meaning(v1, "C_SIZE_MULT") == "MULT 32");
  CHECK(meaning(v1, "SECTOR_SIZE") == "64 KiB erase sector");
  CHECK(meaning(v1, "R2W_FACTOR") == "write 4x the read access time");
  CHECK(meaning(v1, "FILE_FORMAT") == "hard disk-like, with a partition table");
  CHECK(meaning(v1, "CRC") == "ok");
  const auto v2 = decode_csd(encode_registers(testing::profile("uhs1-u3"),
                                              *make_geometry(testing::profile("uhs1-u3"), 8192 * MiB), 1)
                                 .csd);
  CHECK(meaning(v2, "CSD_STRUCTURE") == "2.0 (SDHC/SDXC)");
  CHECK(meaning(v2, "TRAN_SPEED") == "100 Mbit/s per data line");
  CHECK(meaning(v2, "capacity") == "8589934592 bytes (8192 MiB)");
  for (const auto& f : v2) CHECK(f.name != "C_SIZE_MULT");  // CSD 2.0 has none
  const auto cid = decode_cid(encode_registers(p, *make_geometry(p, 64 * MiB), 77).cid);
  CHECK(meaning(cid, "MDT") == "2026-01");
  CHECK(meaning(cid, "PSN") == "77");
}

}  // namespace
}  // namespace cardfs::sdcard
