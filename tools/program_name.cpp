#include "tools/program_name.h"

#include <array>

namespace cardfs::tools {

std::optional<std::string> subcommand_for_program_name(std::string_view argv0) {
  auto slash = argv0.rfind('/');
  std::string_view base = slash == std::string_view::npos ? argv0 : argv0.substr(slash + 1);
  constexpr std::string_view kSuffix = ".cardfs";
  if (base.size() <= kSuffix.size() || !base.ends_with(kSuffix)) return std::nullopt;
  std::string_view stem = base.substr(0, base.size() - kSuffix.size());
  // The names Linux tools look for: mkfs(8), fsck(8) and mount(8) helpers.
  constexpr std::array<std::string_view, 3> kAliases = {"mkfs", "fsck", "mount"};
  for (auto alias : kAliases)
    if (stem == alias) return std::string(alias);
  return std::nullopt;
}

std::vector<std::string> expand_multicall_args(const std::vector<std::string>& argv) {
  if (argv.empty()) return argv;
  auto sub = subcommand_for_program_name(argv[0]);
  if (!sub) return argv;
  std::vector<std::string> out;
  out.reserve(argv.size() + 1);
  out.push_back(argv[0]);
  out.push_back(*sub);
  out.insert(out.end(), argv.begin() + 1, argv.end());
  return out;
}

}  // namespace cardfs::tools
