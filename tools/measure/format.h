// printf-style formatting into a std::string, for the report writers of
// tools/measure/ (lines are short: longer output is cut at 511 bytes).
#pragma once

#include <cstdio>
#include <string>

namespace cardfs::measure {

template <typename... Args>
std::string format(const char* fmt, Args... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

}  // namespace cardfs::measure
