#include "base/parse.h"

#include <array>
#include <cctype>
#include <charconv>
#include <string>

namespace cardfs {

namespace {

Status not_a_number(std::string_view text, const char* what) {
  return Status::error(EINVAL, "'" + std::string(text) + "' is not " + what);
}

Status too_large(std::string_view text, uint64_t max) {
  return Status::error(ERANGE, "'" + std::string(text) + "' is too large (at most " + std::to_string(max) + ")");
}

// The radix and the digits after any prefix ("0x" → 16, a leading 0 → 8).
std::pair<int, std::string_view> radix_of(std::string_view text, IntegerSyntax syntax) {
  if (syntax != IntegerSyntax::kCLiteral || text.size() < 2 || text[0] != '0') return {10, text};
  if (text[1] == 'x' || text[1] == 'X') return {16, text.substr(2)};
  return {8, text.substr(1)};
}

struct Unit {
  std::string_view name;
  uint64_t factor;
};

// The unit's multiplier, or 0 when the suffix is not one of ours.
uint64_t unit_factor(std::string_view suffix) {
  constexpr uint64_t K = 1024, D = 1000;
  static constexpr std::array<Unit, 13> kUnits = {{
      {"", 1},           {"k", K},          {"m", K * K},          {"g", K * K * K},
      {"t", K * K * K * K}, {"kib", K},     {"mib", K * K},        {"gib", K * K * K},
      {"tib", K * K * K * K}, {"kb", D},    {"mb", D * D},         {"gb", D * D * D},
      {"tb", D * D * D * D},
  }};
  std::string lower(suffix);
  for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
  for (const Unit& u : kUnits)
    if (lower == u.name) return u.factor;
  return 0;
}

}  // namespace

Result<uint64_t> parse_uint(std::string_view text, IntegerSyntax syntax, uint64_t max) {
  auto [radix, digits] = radix_of(text, syntax);
  // from_chars would accept a '-' for signed types only, but say so plainly.
  if (!text.empty() && text[0] == '-') return Status::error(EINVAL, "'" + std::string(text) + "' is negative");
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, radix);
  if (digits.empty() || end == digits.data()) return not_a_number(text, "a number");
  if (ec == std::errc::result_out_of_range) return too_large(text, max);
  if (ec != std::errc() || end != digits.data() + digits.size()) return not_a_number(text, "a number");
  if (v > max) return too_large(text, max);
  return v;
}

Result<uint32_t> parse_u32(std::string_view text) {
  CARDFS_ASSIGN_OR_RETURN(uint64_t v, parse_uint(text, IntegerSyntax::kDecimal, UINT32_MAX));
  return uint32_t(v);
}

Result<uint64_t> parse_size(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  const uint64_t factor = unit_factor(text.substr(digits));
  if (digits == 0 || factor == 0) {
    if (!text.empty() && text[0] == '-') return Status::error(EINVAL, "'" + std::string(text) + "' is negative");
    return not_a_number(text, "a size (e.g. 4096, 512K, 64M, 64MiB, 2G, 1GB)");
  }
  Result<uint64_t> v = parse_uint(text.substr(0, digits));
  if (!v.is_ok() || *v > UINT64_MAX / factor) return too_large(text, UINT64_MAX);
  return *v * factor;
}

}  // namespace cardfs
