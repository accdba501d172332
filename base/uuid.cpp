#include "base/uuid.h"

#include <uuid/uuid.h>

namespace cardfs {

Result<Uuid> parse_uuid(std::string_view text) {
  Uuid u{};
  if (text == "random") return random_uuid();
  if (text == "time") {
    uuid_generate_time(u.data());
    return u;
  }
  if (text == "null" || text == "clear") return u;
  const std::string s(text);
  if (uuid_parse(s.c_str(), u.data()) != 0)
    return Status::error(EINVAL, "'" + s + "' is not a UUID (e.g. 1b4e28ba-2fa1-11d2-883f-0016d3cca427, random, time, null)");
  return u;
}

Uuid random_uuid() {
  Uuid u{};
  uuid_generate_random(u.data());
  return u;
}

std::string uuid_text(const Uuid& u) {
  char text[UUID_STR_LEN];
  uuid_unparse_lower(u.data(), text);
  return text;
}

}  // namespace cardfs
