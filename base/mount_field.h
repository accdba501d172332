// Decoding a field of /proc/mounts or /proc/self/mountinfo.
//
// Contract
// - The kernel writes space, tab, newline and backslash in a mount's source
//   or mount point as a backslash and three octal digits (\040 for space);
//   unescape_mount_field turns those back into the byte. A backslash not
//   followed by three octal digits is kept as it is.
#pragma once

#include <string>
#include <string_view>

namespace cardfs {

inline std::string unescape_mount_field(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      int v = 0;
      bool octal = true;
      for (size_t k = 1; k <= 3 && octal; ++k) {
        const char c = field[i + k];
        octal = c >= '0' && c <= '7';
        v = v * 8 + (c - '0');
      }
      if (octal) {
        out.push_back(char(v));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

}  // namespace cardfs
