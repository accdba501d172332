#include "tools/card_health.h"

#include <cstdio>
#include <string>

#include "sdcard/health.h"
#include "sdcard/image_format.h"
#include "sdcard/profiles.h"

namespace cardfs::tools {
namespace {

constexpr const char* kNoRegister =
    "SD has no standard health register; the estimate uses eMMC 5.0's DEVICE_LIFE_TIME_EST scale";

std::string bytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = double(n);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char b[32];
  std::snprintf(b, sizeof b, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return b;
}

}  // namespace

void print_health_text(const sdcard::Card& card) {
  const sdcard::Profile& p = card.profile();
  const sdcard::Health h = sdcard::health_of(p, card.au_states());
  const sdcard::Lifetime t = card.lifetime();
  std::printf("health     life time estimate 0x%02X: %s of the rated life used (%s)\n", h.life_time_est,
              sdcard::life_time_meaning(h.life_time_est), kNoRegister);
  std::printf("           mean wear %.3f of %u rated P/E cycles (%s; %s); most worn AU %u\n", h.mean_wear,
              h.rated_pe_cycles, std::string(p.nand).c_str(), std::string(p.endurance_source).c_str(), h.max_wear);
  std::printf("           %llu AU erases done, %u AUs waiting in the erase queue (pending wear, counted)\n",
              (unsigned long long)h.erases, h.pending);
  std::printf("lifetime   host written %s, read %s; flash programmed %s; %llu erases; %llu power cycles, "
              "%llu unclean shutdowns\n",
              bytes(t.host_bytes_written).c_str(), bytes(t.host_bytes_read).c_str(),
              bytes(t.flash_bytes_programmed).c_str(), (unsigned long long)t.erases,
              (unsigned long long)t.power_cycles, (unsigned long long)t.unclean_shutdowns);
}

nlohmann::ordered_json health_json(const sdcard::Card& card) {
  const sdcard::Profile& p = card.profile();
  const sdcard::Health h = sdcard::health_of(p, card.au_states());
  const sdcard::Lifetime t = card.lifetime();
  nlohmann::ordered_json out;
  out["health"] = {{"life_time_est", h.life_time_est},
                   {"life_time_est_meaning", sdcard::life_time_meaning(h.life_time_est)},
                   {"life_used", h.life_used},
                   {"rated_pe_cycles", h.rated_pe_cycles},
                   {"nand", std::string(p.nand)},
                   {"endurance_source", std::string(p.endurance_source)},
                   {"mean_wear", h.mean_wear},
                   {"max_wear", h.max_wear},
                   {"erases", h.erases},
                   {"pending_erases", h.pending},
                   {"note", kNoRegister}};
  out["lifetime"] = {{"host_bytes_written", t.host_bytes_written},
                     {"host_bytes_read", t.host_bytes_read},
                     {"flash_bytes_programmed", t.flash_bytes_programmed},
                     {"erases", t.erases},
                     {"power_cycles", t.power_cycles},
                     {"unclean_shutdowns", t.unclean_shutdowns}};
  return out;
}

}  // namespace cardfs::tools
