#include "base/status.h"

#include <cstring>

namespace cardfs {

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  return message_ + " (" + std::strerror(code_) + ")";
}

}  // namespace cardfs
