// The health section of `cardfs card info`: wear against the profile's
// rated P/E cycles on eMMC's life-time scale (sdcard/health.h), and the
// lifetime counters the image keeps (sdcard/image_format.h).
#pragma once

#include <nlohmann/json.hpp>

#include "sdcard/card.h"

namespace cardfs::tools {

void print_health_text(const sdcard::Card& card);
nlohmann::ordered_json health_json(const sdcard::Card& card);

}  // namespace cardfs::tools
