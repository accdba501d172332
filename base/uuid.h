// UUIDs as mke2fs and blkid write them, through libuuid.
//
//   parse_uuid("random") / ("time")   a new one (version 4 / version 1)
//   parse_uuid("null") / ("clear")    all zeros
//   parse_uuid("1b4e28ba-2fa1-11d2-883f-0016d3cca427")  exactly that
// Anything else is EINVAL. uuid_text() is the lower-case 36-character form.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace cardfs {

using Uuid = std::array<uint8_t, 16>;

Result<Uuid> parse_uuid(std::string_view text);
Uuid random_uuid();
std::string uuid_text(const Uuid& u);

}  // namespace cardfs
