#include "tools/program_name.h"

#include <sys/stat.h>

#include <array>

namespace cardfs::tools {

namespace {

std::string_view base_name(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string invocation_argv0;  // set once by run_cli (set_invocation)

}  // namespace

void set_invocation(std::string_view argv0) { invocation_argv0 = std::string(argv0); }

std::string invoked_as(std::string_view sub) {
  if (subcommand_for_program_name(invocation_argv0) == sub) return std::string(base_name(invocation_argv0));
  return "cardfs " + std::string(sub);
}

std::optional<std::string> subcommand_for_program_name(std::string_view argv0) {
  std::string_view base = base_name(argv0);
  constexpr std::string_view kSuffix = ".cardfs";
  if (base.size() <= kSuffix.size() || !base.ends_with(kSuffix)) return std::nullopt;
  std::string_view stem = base.substr(0, base.size() - kSuffix.size());
  // The names Linux tools look for: mkfs(8), fsck(8), mount(8) and
  // umount(8) helpers.
  constexpr std::array<std::string_view, 4> kAliases = {"mkfs", "fsck", "mount", "umount"};
  for (auto alias : kAliases)
    if (stem == alias) return std::string(alias);
  if (stem == "mount.fuse") return std::string("mount");    // mount -t fuse.cardfs
  if (stem == "umount.fuse") return std::string("umount");  // umount of a fuse.cardfs mount
  return std::nullopt;
}

// mount.fuse3 runs `cardfs IMAGE DIR -o OPTS` for `mount -t fuse.cardfs`
// and `cardfs#IMAGE`: an image file then a directory stand for `mount`.
static bool is_fuse3_helper_call(const std::vector<std::string>& argv) {
  struct stat image, dir;
  return argv.size() >= 3 && !argv[1].starts_with('-') && stat(argv[1].c_str(), &image) == 0 &&
         S_ISREG(image.st_mode) && stat(argv[2].c_str(), &dir) == 0 && S_ISDIR(dir.st_mode);
}

std::vector<std::string> expand_multicall_args(const std::vector<std::string>& argv) {
  if (argv.empty()) return argv;
  auto sub = subcommand_for_program_name(argv[0]);
  if (!sub && is_fuse3_helper_call(argv)) sub = "mount";
  if (!sub) return argv;
  std::vector<std::string> out;
  out.reserve(argv.size() + 1);
  out.push_back(argv[0]);
  out.push_back(*sub);
  out.insert(out.end(), argv.begin() + 1, argv.end());
  return out;
}

}  // namespace cardfs::tools
