#include "sdcard/health.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace cardfs::sdcard {

Health health_of(const Profile& p, const std::vector<AuState>& aus) {
  Health h;
  h.rated_pe_cycles = p.rated_pe_cycles;
  h.aus = uint32_t(aus.size());
  for (const AuState& a : aus) {
    const bool pending = std::strcmp(a.role, "erasing") == 0;
    h.erases += a.erase_count;
    h.pending += pending ? 1 : 0;
    h.max_wear = std::max(h.max_wear, a.erase_count + (pending ? 1u : 0u));
  }
  if (h.aus > 0) h.mean_wear = double(h.erases + h.pending) / double(h.aus);
  if (h.rated_pe_cycles > 0) h.life_used = h.mean_wear / double(h.rated_pe_cycles);
  h.life_time_est = life_time_estimate(h.life_used);
  return h;
}

uint8_t life_time_estimate(double life_used) {
  if (!(life_used >= 0)) return 0x01;  // NaN or negative: nothing used
  if (life_used >= 1.0) return 0x0B;
  return uint8_t(0x01 + std::min(9, int(std::floor(life_used * 10.0))));
}

const char* life_time_meaning(uint8_t code) {
  static const char* kSteps[] = {"0-10 %",  "10-20 %", "20-30 %", "30-40 %", "40-50 %",
                                 "50-60 %", "60-70 %", "70-80 %", "80-90 %", "90-100 %"};
  if (code >= 0x01 && code <= 0x0A) return kSteps[code - 1];
  if (code == 0x0B) return "exceeded";
  return "not defined";
}

}  // namespace cardfs::sdcard
