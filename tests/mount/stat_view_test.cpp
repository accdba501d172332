#include "fusefs/fuse/stat_view.h"

#include <catch2/catch.hpp>

using namespace cardfs::fuse;

TEST_CASE("snapshots parse name-value and meminfo lines") {
  Snapshot s = parse_snapshot("card.commands 12\nbroken\nWA 1.5\n\n: 3\n");
  CHECK(s.size() == 2);
  CHECK(s["card.commands"] == 12);
  CHECK(s["WA"] == 1.5);
  Snapshot m = parse_snapshot("Cached:     2048 kB\nDirty:  0 kB\n", "mem.");
  CHECK(m["mem.Cached"] == 2048);
  CHECK(m["mem.Dirty"] == 0);
}

TEST_CASE("a snapshot survives formatting and parsing") {
  Snapshot s{{"a.x", 1}, {"b.y", 2.25}, {"c.z", 123456789012.0}};
  CHECK(parse_snapshot(format_snapshot(s)) == s);
}

TEST_CASE("stat lines show gauges as they are and rates per second") {
  std::vector<StatColumn> cols = {{"dirtyMB", "mem.Dirty", false, 1024},
                                  {"rq/s", "queue.requests", true, 1},
                                  {"gone", "no.such", true, 1}};
  Snapshot prev{{"mem.Dirty", 1024}, {"queue.requests", 100}};
  Snapshot cur{{"mem.Dirty", 3072}, {"queue.requests", 300}};
  std::string line = format_stat_line(cols, prev, cur, 2.0);
  CHECK(line == "       3.0       100         -\n");
  CHECK(format_stat_header(cols) == "   dirtyMB      rq/s      gone\n");
}

TEST_CASE("write amplification per interval is the ratio of the interval's changes") {
  std::vector<StatColumn> cols = {{"WAint", "card.flash_bytes_programmed", false, 1, "wa_interval",
                                   "card.host_sectors_written", 512}};
  Snapshot prev{{"card.flash_bytes_programmed", 1 << 20}, {"card.host_sectors_written", 2048}};
  Snapshot cur{{"card.flash_bytes_programmed", 4 << 20}, {"card.host_sectors_written", 4096}};
  CHECK(format_stat_line(cols, prev, cur, 1.0) == "      3.00\n");  // 3 MiB programmed for 1 MiB written
  CHECK(format_stat_line(cols, cur, cur, 1.0) == "         -\n");   // nothing written: no ratio
  CHECK(*stat_values(cols, prev, cur, 1.0)[0] == 3.0);
}

TEST_CASE("the default columns read keys the daemon's stat file provides") {
  for (const auto& c : default_stat_columns()) {
    INFO(c.key);
    CHECK(c.scale > 0);
    CHECK(c.key.find('.') != std::string::npos);
  }
}
