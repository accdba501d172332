#include "sdcard/counters_text.h"

#include <cmath>
#include <cstdio>

#include "sdcard/geometry.h"
#include "sdcard/profiles.h"

namespace cardfs::sdcard {

std::vector<std::pair<std::string, double>> counter_fields(const Card& card) {
  const CardCounters c = card.counters();
  const uint32_t page = card.profile().page_bytes;
  auto ns = [](Nanos t) { return double(t.count()); };
  return {
      {"card.commands", double(c.commands)},
      {"card.host_sectors_read", double(c.host_sectors_read)},
      {"card.host_sectors_written", double(c.host_sectors_written)},
      {"card.host_sectors_discarded", double(c.host_sectors_discarded)},
      {"card.flushes", double(c.flushes)},
      {"card.flash_pages_read", double(c.flash_pages_read)},
      {"card.flash_pages_programmed", double(c.flash_pages_programmed)},
      {"card.flash_bytes_programmed", double(c.flash_pages_programmed) * page},
      {"card.merges", double(c.merges)},
      {"card.merge_pages_copied", double(c.merge_pages_copied)},
      {"card.erases", double(c.erases)},
      {"card.au_opens", double(c.au_opens)},
      {"card.au_closes", double(c.au_closes)},
      {"card.ecc_errors", double(c.ecc_errors)},
      {"card.store_syncs", double(c.store_syncs)},
      {"card.write_amplification", std::round(c.write_amplification(page) * 1000) / 1000},
      {"card.host_bytes_written", double(c.host_sectors_written) * kSectorBytes},
      {"card.image_bytes_written", double(c.image_bytes_written)},
      {"card.image_bytes_per_host_byte", std::round(c.image_bytes_per_host_byte() * 1000) / 1000},
      {"card.image_bytes_data", double(c.image_bytes.data)},
      {"card.image_bytes_records", double(c.image_bytes.records)},
      {"card.image_bytes_merge_entries", double(c.image_bytes.merge_entries)},
      {"card.image_bytes_checkpoints", double(c.image_bytes.checkpoints)},
      {"card.image_bytes_tables", double(c.image_bytes.tables)},
      {"card.device_time_ns", ns(card.device_time())},
      {"card.time_command_ns", ns(c.time.command)},
      {"card.time_transfer_ns", ns(c.time.transfer)},
      {"card.time_read_ns", ns(c.time.read)},
      {"card.time_program_ns", ns(c.time.program)},
      {"card.time_merge_ns", ns(c.time.merge)},
      {"card.time_erase_ns", ns(c.time.erase)},
  };
}

std::string counters_text(const Card& card) {
  std::string out;
  char value[64];
  for (const auto& [name, v] : counter_fields(card)) {
    if (v == std::floor(v) && std::fabs(v) < 1e18)
      std::snprintf(value, sizeof value, "%.0f", v);
    else
      std::snprintf(value, sizeof value, "%.3f", v);
    out += name + " " + value + "\n";
  }
  return out;
}

}  // namespace cardfs::sdcard
