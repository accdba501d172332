#include "tools/inspect/card_view.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "sdcard/card.h"
#include "sdcard/geometry.h"
#include "sdcard/profiles.h"
#include "sdcard/wear.h"

namespace cardfs::inspect {

namespace {

Result<const sdcard::Card*> need_card(Inspector& in) {
  if (!in.card()) return Status::error(EINVAL, "this image is not a card image");
  return in.card();
}

}  // namespace

Result<Output> cmd_card(Inspector& in, const std::vector<std::string>&) {
  CARDFS_ASSIGN_OR_RETURN(const sdcard::Card* card, need_card(in));
  const sdcard::Geometry& g = card->geometry();
  const sdcard::Profile& p = card->profile();
  Value geo = Value::object();
  geo.add("capacity", Value::bytes(g.user_bytes())).add("au_size", Value::bytes(g.au_bytes()));
  geo.add("page_size", Value::bytes(g.page_bytes)).add("pages_per_au", g.pages_per_au);
  geo.add("erase_block", Value::bytes(g.erase_block_bytes)).add("user_aus", g.user_aus);
  geo.add("spare_aus", g.spare_aus);
  Value prof = Value::object();
  prof.add("name", std::string(p.name)).add("speed_class", uint32_t(p.speed_class));
  prof.add("open_aus", p.open_aus).add("write_buffer", Value::bytes(p.write_buffer_bytes));
  const auto aus = card->au_states();
  std::map<std::string, uint32_t> roles;
  uint64_t valid = 0;
  for (const auto& a : aus) {
    ++roles[a.role];
    valid += a.valid_pages;
  }
  Value map = Value::object();
  for (const auto& [role, n] : roles) map.add(role + "_aus", n);
  map.add("valid_pages", valid);
  // Bars scaled to the fullest range of erase counts (60 characters).
  const sdcard::WearStats w = sdcard::wear_stats(aus);
  uint32_t fullest = 0;
  for (const auto& b : w.buckets) fullest = std::max(fullest, b.aus);
  Value hist = Value::array();
  for (const auto& b : w.buckets) {
    Value r = Value::object();
    r.add("erases", b.range()).add("aus", b.aus).add("bar", std::string(sdcard::bar_length(b.aus, fullest, 60), '#'));
    hist.push(r);
  }
  Value wear = Value::object();
  wear.add("min_erase_count", w.min).add("mean_erase_count", Value(w.mean)).add("max_erase_count", w.max);
  const sdcard::CardCounters c = card->counters();
  Value cnt = Value::object();
  cnt.add("commands", c.commands).add("host_sectors_read", c.host_sectors_read);
  cnt.add("host_sectors_written", c.host_sectors_written).add("flash_pages_programmed", c.flash_pages_programmed);
  cnt.add("merges", c.merges).add("erases", c.erases);
  cnt.add("write_amplification", Value(c.write_amplification(g.page_bytes)));
  Value v = Value::object();
  v.add("serial", card->serial()).add("geometry", geo).add("profile", prof).add("ftl_map", map);
  v.add("wear", wear).add("wear_histogram", hist).add("counters", cnt);
  return Output{v, {}};
}

Result<Output> cmd_au(Inspector& in, const std::vector<std::string>& args) {
  CARDFS_ASSIGN_OR_RETURN(const sdcard::Card* card, need_card(in));
  char* end = nullptr;
  unsigned long n = std::strtoul(args[0].c_str(), &end, 10);
  const auto aus = card->au_states();
  if (args[0].empty() || *end || n >= aus.size())
    return Status::error(EINVAL, "no physical AU " + args[0] + " (the card has " + std::to_string(aus.size()) + ")");
  const auto& a = aus[n];
  const sdcard::Geometry& g = card->geometry();
  Value v = Value::object();
  v.add("physical_au", uint64_t(n)).add("role", a.role);
  v.add("logical_au", a.logical_au >= 0 ? Value(a.logical_au) : Value());
  if (a.logical_au >= 0)
    v.add("logical_bytes", std::to_string(uint64_t(a.logical_au) * g.au_bytes()) + "-" +
                               std::to_string(uint64_t(a.logical_au + 1) * g.au_bytes() - 1));
  v.add("valid_pages", a.valid_pages).add("pages", g.pages_per_au).add("erase_count", a.erase_count);
  return Output{v, {}};
}

}  // namespace cardfs::inspect
