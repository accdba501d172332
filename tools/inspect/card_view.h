// The card commands of inspect (`card`, `au N`): what the sdcard layer
// exposes about the card holding the image. EINVAL when the image is not
// a card image.
#pragma once

#include <string>
#include <vector>

#include "tools/inspect/inspector.h"

namespace cardfs::inspect {

Result<Output> cmd_card(Inspector& in, const std::vector<std::string>& args);
Result<Output> cmd_au(Inspector& in, const std::vector<std::string>& args);

}  // namespace cardfs::inspect
