// Decoding the CID, CSD and SD Status registers field by field, with each
// field's meaning as the SD Physical Layer Specification (Simplified,
// version 9.10: 5.2 CID, 5.3.2 CSD 1.0, 5.3.3 CSD 2.0, 4.10.2 SD Status)
// defines it.
#include <cstdio>

#include "sdcard/registers.h"

namespace cardfs::sdcard {
namespace {

std::string format(const char* fmt, double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

std::string size_text(uint64_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

std::string yes_no(uint64_t bit) { return bit ? "yes" : "no"; }

// TAAC's and TRAN_SPEED's "time value" (bits 6:3): a mantissa; 0 is reserved.
constexpr double kMantissa[16] = {0, 1.0, 1.2, 1.3, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 7.0, 8.0};

std::string class_text(uint64_t code) {
  static const char* names[] = {"class 0", "class 2", "class 4", "class 6", "class 10"};
  return code < 5 ? names[code] : "reserved";
}

// The command classes CCC's bits name (table 4-32; 1 and 3 are reserved).
std::string ccc_text(uint64_t ccc) {
  static const char* names[12] = {"basic",        "",       "block read",  "",
                                  "block write",  "erase",  "write protection", "lock card",
                                  "application specific", "I/O mode", "switch", "extension"};
  std::string out = "classes";
  for (unsigned c = 0; c < 12; ++c)
    if (ccc & (1u << c)) out += " " + std::to_string(c) + (names[c][0] ? std::string(" (") + names[c] + ")" : "");
  return out;
}

// VDD_x_CURR_MIN and VDD_x_CURR_MAX (CSD 1.0): current at VDD min / max.
std::string curr_min_text(uint64_t v) {
  static const char* t[8] = {"0.5 mA", "1 mA", "5 mA", "10 mA", "25 mA", "35 mA", "60 mA", "100 mA"};
  return t[v & 7];
}
std::string curr_max_text(uint64_t v) {
  static const char* t[8] = {"1 mA", "5 mA", "10 mA", "25 mA", "35 mA", "45 mA", "80 mA", "200 mA"};
  return t[v & 7];
}

std::string file_format_text(uint64_t group, uint64_t format) {
  if (group) return "reserved";
  static const char* t[4] = {"hard disk-like, with a partition table", "DOS FAT (floppy-like), boot sector only",
                             "universal file format", "others / unknown"};
  return t[format & 3];
}

std::string crc_text(std::span<const uint8_t> r) {
  return register_bits(r, 7, 7) == crc7(r.first(15)) ? "ok" : "bad";
}

// The fields CSD 1.0 (standard capacity) has and 2.0 fixes or drops.
void add_capacity(std::span<const uint8_t> r, uint64_t structure, std::vector<RegisterField>& f) {
  const uint64_t read_bl_len = register_bits(r, 83, 4);
  uint64_t capacity;
  if (structure == 1 || structure == 2) {  // 22 bits in CSD 2.0, 28 in 3.0
    const uint64_t c = structure == 1 ? register_bits(r, 69, 22) : register_bits(r, 75, 28);
    capacity = (c + 1) * 512 * 1024;
    f.push_back({"C_SIZE", c, "(C_SIZE + 1) x 512 KiB"});
  } else {
    const uint64_t c = register_bits(r, 73, 12), m = register_bits(r, 49, 3);
    capacity = (c + 1) << (m + 2 + read_bl_len);
    f.push_back({"C_SIZE", c, "(C_SIZE + 1) x MULT x READ_BL_LEN"});
    f.push_back({"VDD_R_CURR_MIN", register_bits(r, 61, 3), curr_min_text(register_bits(r, 61, 3))});
    f.push_back({"VDD_R_CURR_MAX", register_bits(r, 58, 3), curr_max_text(register_bits(r, 58, 3))});
    f.push_back({"VDD_W_CURR_MIN", register_bits(r, 55, 3), curr_min_text(register_bits(r, 55, 3))});
    f.push_back({"VDD_W_CURR_MAX", register_bits(r, 52, 3), curr_max_text(register_bits(r, 52, 3))});
    f.push_back({"C_SIZE_MULT", m, "MULT " + std::to_string(1u << (m + 2))});
  }
  f.push_back({"capacity", capacity, std::to_string(capacity) + " bytes (" + size_text(capacity) + ")"});
}

}  // namespace

std::string taac_text(uint64_t taac) {
  const double mantissa = kMantissa[(taac >> 3) & 15];
  if (mantissa == 0 || (taac & 0x80)) return "reserved";
  double ns = mantissa;
  for (uint64_t u = 0; u < (taac & 7); ++u) ns *= 10;  // unit: 1 ns, 10 ns ... 10 ms
  if (ns < 1000) return format("%g ns", ns);
  if (ns < 1e6) return format("%g µs", ns / 1e3);
  return format("%g ms", ns / 1e6);
}

std::string tran_speed_text(uint64_t speed) {
  const double mantissa = kMantissa[(speed >> 3) & 15];
  const uint64_t unit = speed & 7;  // 100 kbit/s, 1, 10, 100 Mbit/s; 4-7 reserved
  if (mantissa == 0 || unit > 3 || (speed & 0x80)) return "reserved";
  double kbit = mantissa * 100;
  for (uint64_t u = 0; u < unit; ++u) kbit *= 10;
  return (kbit < 1000 ? format("%g kbit/s", kbit) : format("%g Mbit/s", kbit / 1000)) + " per data line";
}

std::vector<RegisterField> decode_cid(std::span<const uint8_t, 16> cid) {
  std::span<const uint8_t> r(cid);
  std::string oid{char(register_bits(r, 119, 8)), char(register_bits(r, 111, 8))};
  std::string pnm;
  for (int i = 0; i < 5; ++i) pnm += char(register_bits(r, 103 - 8 * i, 8));
  const uint64_t prv = register_bits(r, 63, 8), mdt = register_bits(r, 19, 12), psn = register_bits(r, 55, 32);
  const uint64_t month = mdt & 15;
  char date[16];
  std::snprintf(date, sizeof date, "%u-%02u", unsigned(2000 + (mdt >> 4)), unsigned(month));  // mdt: 12 bits
  return {
      {"MID", register_bits(r, 127, 8), "manufacturer ID (assigned by SD-3C)"},
      {"OID", register_bits(r, 119, 16), oid},
      {"PNM", register_bits(r, 103, 40), pnm},
      {"PRV", prv, std::to_string(prv >> 4) + "." + std::to_string(prv & 15)},
      {"PSN", psn, std::to_string(psn)},
      {"MDT", mdt, month >= 1 && month <= 12 ? date : "invalid month"},
      {"CRC", register_bits(r, 7, 7), crc_text(r)},
  };
}

std::vector<RegisterField> decode_csd(std::span<const uint8_t, 16> csd) {
  std::span<const uint8_t> r(csd);
  const uint64_t structure = register_bits(r, 127, 2);
  const uint64_t nsac = register_bits(r, 111, 8), sector = register_bits(r, 45, 7);
  const uint64_t wp_grp = register_bits(r, 38, 7), r2w = register_bits(r, 28, 3);
  const char* versions[4] = {"1.0 (SDSC)", "2.0 (SDHC/SDXC)", "3.0 (SDUC)", "reserved"};
  std::vector<RegisterField> f = {
      {"CSD_STRUCTURE", structure, versions[structure]},
      {"TAAC", register_bits(r, 119, 8), "read access time " + taac_text(register_bits(r, 119, 8))},
      {"NSAC", nsac, "read access time " + std::to_string(nsac * 100) + " clock cycles"},
      {"TRAN_SPEED", register_bits(r, 103, 8), tran_speed_text(register_bits(r, 103, 8))},
      {"CCC", register_bits(r, 95, 12), ccc_text(register_bits(r, 95, 12))},
      {"READ_BL_LEN", register_bits(r, 83, 4), std::to_string(1u << register_bits(r, 83, 4)) + " bytes"},
      {"READ_BL_PARTIAL", register_bits(r, 79, 1), yes_no(register_bits(r, 79, 1))},
      {"WRITE_BLK_MISALIGN", register_bits(r, 78, 1), yes_no(register_bits(r, 78, 1))},
      {"READ_BLK_MISALIGN", register_bits(r, 77, 1), yes_no(register_bits(r, 77, 1))},
      {"DSR_IMP", register_bits(r, 76, 1), register_bits(r, 76, 1) ? "DSR implemented" : "no DSR"},
  };
  add_capacity(r, structure, f);
  const uint64_t write_bl_len = register_bits(r, 25, 4);
  f.push_back({"ERASE_BLK_EN", register_bits(r, 46, 1),
               register_bits(r, 46, 1) ? "erases in 512-byte units" : "erases in SECTOR_SIZE units"});
  f.push_back({"SECTOR_SIZE", sector, size_text((sector + 1) << write_bl_len) + " erase sector"});
  f.push_back({"WP_GRP_SIZE", wp_grp, std::to_string(wp_grp + 1) + " erase sectors"});
  f.push_back({"WP_GRP_ENABLE", register_bits(r, 31, 1), yes_no(register_bits(r, 31, 1))});
  f.push_back({"R2W_FACTOR", r2w, r2w < 6 ? "write " + std::to_string(1u << r2w) + "x the read access time" : "reserved"});
  f.push_back({"WRITE_BL_LEN", write_bl_len, std::to_string(1u << write_bl_len) + " bytes"});
  f.push_back({"WRITE_BL_PARTIAL", register_bits(r, 21, 1), yes_no(register_bits(r, 21, 1))});
  f.push_back({"FILE_FORMAT_GRP", register_bits(r, 15, 1), ""});
  f.push_back({"COPY", register_bits(r, 14, 1), register_bits(r, 14, 1) ? "a copy" : "original"});
  f.push_back({"PERM_WRITE_PROTECT", register_bits(r, 13, 1), yes_no(register_bits(r, 13, 1))});
  f.push_back({"TMP_WRITE_PROTECT", register_bits(r, 12, 1), yes_no(register_bits(r, 12, 1))});
  f.push_back({"FILE_FORMAT", register_bits(r, 11, 2),
               file_format_text(register_bits(r, 15, 1), register_bits(r, 11, 2))});
  f.push_back({"CRC", register_bits(r, 7, 7), crc_text(r)});
  return f;
}

std::vector<RegisterField> decode_ssr(std::span<const uint8_t, 64> ssr) {
  std::span<const uint8_t> r(ssr);
  uint64_t au = register_bits(r, 431, 4), uhs_au = register_bits(r, 395, 4);
  uint64_t app = register_bits(r, 339, 4), move = register_bits(r, 439, 8);
  return {
      {"DAT_BUS_WIDTH", register_bits(r, 511, 2), register_bits(r, 511, 2) == 2 ? "4 bit" : "1 bit"},
      {"SPEED_CLASS", register_bits(r, 447, 8), class_text(register_bits(r, 447, 8))},
      {"PERFORMANCE_MOVE", move, move == 0 ? "sequential write" : move == 0xFF ? "infinity" : std::to_string(move) + " MB/s"},
      {"AU_SIZE", au, au ? size_text(au_bytes_from_code(uint8_t(au))) : "not defined"},
      {"ERASE_SIZE", register_bits(r, 423, 16),
       std::to_string(register_bits(r, 423, 16)) + " AUs erased within ERASE_TIMEOUT"},
      {"ERASE_TIMEOUT", register_bits(r, 407, 6), std::to_string(register_bits(r, 407, 6)) + " s"},
      {"ERASE_OFFSET", register_bits(r, 401, 2), std::to_string(register_bits(r, 401, 2)) + " s"},
      {"UHS_SPEED_GRADE", register_bits(r, 399, 4), "U" + std::to_string(register_bits(r, 399, 4))},
      {"UHS_AU_SIZE", uhs_au, uhs_au ? size_text(au_bytes_from_code(uint8_t(uhs_au))) : "not defined"},
      {"VIDEO_SPEED_CLASS", register_bits(r, 391, 8), "V" + std::to_string(register_bits(r, 391, 8))},
      {"APP_PERF_CLASS", app, app ? "A" + std::to_string(app) : "none"},
  };
}

}  // namespace cardfs::sdcard
