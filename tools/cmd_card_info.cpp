// `cardfs card info IMAGE [--json]`: what the card says about itself.
// Opens the image read-only, so it works on an image in use elsewhere and
// never changes it.
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "sdcard/card.h"
#include "sdcard/geometry.h"
#include "sdcard/registers.h"
#include "sdcard/wear.h"
#include "tools/card_health.h"

namespace cardfs::tools {
namespace {

std::string hex(std::span<const uint8_t> bytes) {
  std::string out;
  char b[4];
  for (uint8_t v : bytes) {
    std::snprintf(b, sizeof b, "%02x", v);
    out += b;
  }
  return out;
}

struct Summary {
  std::map<std::string, uint32_t> roles;  // role -> AUs
  uint64_t valid_pages = 0;
  sdcard::WearStats wear;
};

Summary summarize(const std::vector<sdcard::AuState>& aus) {
  Summary s;
  for (const sdcard::AuState& a : aus) {
    ++s.roles[a.role];
    s.valid_pages += a.valid_pages;
  }
  s.wear = sdcard::wear_stats(aus);
  return s;
}

// Erase counts' spread, then AUs per range of erase counts, each bar
// scaled to the fullest range (kBarWidth characters).
void print_wear(const sdcard::WearStats& w) {
  constexpr uint32_t kBarWidth = 50;
  std::printf("wear       erase counts min %u, mean %.2f, max %u over %u AUs (%u erased at least once)\n", w.min,
              w.mean, w.max, w.aus, w.aus_erased);
  uint32_t fullest = 0;
  for (const auto& b : w.buckets) fullest = std::max(fullest, b.aus);
  std::printf("           %-11s %6s\n", "erases", "AUs");
  for (const auto& b : w.buckets)
    std::printf("           %-11s %6u %s\n", b.range().c_str(), b.aus,
                std::string(sdcard::bar_length(b.aus, fullest, kBarWidth), '#').c_str());
}

void print_fields(const char* name, std::span<const uint8_t> raw, const std::vector<sdcard::RegisterField>& f) {
  std::printf("  %s %s\n", name, hex(raw).c_str());
  for (const auto& x : f)
    std::printf("    %-18s 0x%-10llx %s\n", x.name.c_str(), (unsigned long long)x.raw, x.meaning.c_str());
}

nlohmann::ordered_json json_fields(const std::vector<sdcard::RegisterField>& f) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& x : f) out[x.name] = {{"raw", x.raw}, {"meaning", x.meaning}};
  return out;
}

void print_text(const std::string& image, const sdcard::Card& card, const sdcard::Registers& r, const Summary& s) {
  const sdcard::Geometry& g = card.geometry();
  const sdcard::Profile& p = card.profile();
  std::printf("image      %s (%s)\n", image.c_str(), card.opened_clean() ? "clean" : "unclean stop: map rebuilt by OOB scan");
  std::printf("profile    %s: %s\n", std::string(p.name).c_str(), std::string(p.summary).c_str());
  std::printf("capacity   %llu bytes, %llu sectors\n", (unsigned long long)g.user_bytes(), (unsigned long long)g.sector_count());
  std::printf("geometry   page %u KiB, erase block %u KiB, AU %llu KiB (%u pages), %u user + %u spare AUs\n",
              g.page_bytes >> 10, g.erase_block_bytes >> 10, (unsigned long long)(g.au_bytes() >> 10), g.pages_per_au,
              g.user_aus, g.spare_aus);
  std::printf("registers\n");
  print_fields("CID", r.cid, sdcard::decode_cid(r.cid));
  print_fields("CSD", r.csd, sdcard::decode_csd(r.csd));
  print_fields("SSR", r.ssr, sdcard::decode_ssr(r.ssr));
  std::printf("ftl        %s, %u open AUs max; AUs:", p.ftl == sdcard::FtlKind::kBlock ? "block" : "page", p.open_aus);
  for (auto& [role, n] : s.roles) std::printf(" %s %u", role.c_str(), n);
  std::printf("\n           valid pages %llu of %llu (%.1f %% of the capacity holds data)\n",
              (unsigned long long)s.valid_pages, (unsigned long long)g.user_pages(),
              100.0 * double(s.valid_pages) / double(g.user_pages()));
  print_wear(s.wear);
  print_health_text(card);
  const sdcard::CardCounters c = card.counters();
  std::printf("power-on   %llu flash pages read by the open\n", (unsigned long long)c.flash_pages_read);
}

// The schema is in docs/sdcard.md ("card info --json"): sizes in bytes
// under *_bytes keys, counts as numbers.
void print_json(const std::string& image, const sdcard::Card& card, const sdcard::Registers& r, const Summary& s) {
  const sdcard::Geometry& g = card.geometry();
  nlohmann::ordered_json out;
  out["image"] = image;
  out["clean"] = card.opened_clean();
  out["profile"] = std::string(card.profile().name);
  out["capacity_bytes"] = g.user_bytes();
  out["geometry"] = {{"page_bytes", g.page_bytes},     {"erase_block_bytes", g.erase_block_bytes},
                     {"au_bytes", g.au_bytes()},       {"user_aus", g.user_aus},
                     {"spare_aus", g.spare_aus}};
  out["registers"] = {{"cid", json_fields(sdcard::decode_cid(r.cid))},
                      {"csd", json_fields(sdcard::decode_csd(r.csd))},
                      {"ssr", json_fields(sdcard::decode_ssr(r.ssr))}};
  out["ftl"] = {{"roles", s.roles}, {"valid_pages", s.valid_pages}, {"user_pages", g.user_pages()}};
  nlohmann::ordered_json erase_counts = nlohmann::ordered_json::array();
  for (const sdcard::AuState& a : card.au_states()) erase_counts.push_back(a.erase_count);
  nlohmann::ordered_json histogram = nlohmann::ordered_json::array();
  for (const auto& b : s.wear.buckets) histogram.push_back({{"first", b.first}, {"last", b.last}, {"aus", b.aus}});
  out["wear"] = {{"min_erase_count", s.wear.min},   {"mean_erase_count", s.wear.mean},
                 {"max_erase_count", s.wear.max},   {"aus_erased", s.wear.aus_erased},
                 {"histogram", histogram},          {"erase_counts", erase_counts}};
  out.update(health_json(card));
  std::printf("%s\n", out.dump().c_str());
}

}  // namespace

int run_card_info(const std::string& image, bool json) {
  RealClock clock;
  sdcard::CardOptions opts;
  opts.read_only = true;
  auto card = sdcard::Card::open(image, clock, opts);
  if (!card.is_ok()) {
    std::fprintf(stderr, "cardfs card: %s\n", card.status().message().c_str());
    return 1;
  }
  const sdcard::Registers r = sdcard::encode_registers((*card)->profile(), (*card)->geometry(), (*card)->serial());
  const Summary s = summarize((*card)->au_states());
  if (json)
    print_json(image, **card, r, s);
  else
    print_text(image, **card, r, s);
  return 0;
}

}  // namespace cardfs::tools
