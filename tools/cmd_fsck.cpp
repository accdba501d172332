// `cardfs fsck` / `fsck.cardfs`: check and repair a cardfs image offline.
//
//   fsck.cardfs [-n|-p|-a|-y] [-f] [-v] [-b SUPERBLOCK] [-C FD]
//               [--card-only|--fs-only] IMAGE
//
// Options and exit codes are e2fsck's (see docs/fsck.md). The arguments
// are parsed here rather than by CLI11 so that usage errors exit 16 and
// e2fsck's combined flags (-fy, -fn) work.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "tools/command.h"
#include "tools/program_name.h"
#include "base/clock.h"
#include "base/image_claim.h"
#include "sdcard/card.h"
#include "tools/fsck/card_io.h"
#include "tools/fsck/fsck.h"
#include "tools/fsck/progress.h"
#include "tools/fsck/super.h"

namespace cardfs::tools {
namespace {

constexpr int kFsckUsage = 16;
constexpr int kFsckOperational = 8;

// After "Usage: " and the name the user typed (fsck.cardfs or cardfs fsck).
const char* kUsage =
    " [-n|-p|-a|-y] [-f] [-v] [-b SUPERBLOCK] [-C FD] [--card-only|--fs-only] IMAGE\n"
    "  -n  check only: open read-only, answer no to every question\n"
    "  -p  preen: fix what is safe without asking (-a is the same)\n"
    "  -y  answer yes to every question\n"
    "  -f  check even if the filesystem is marked clean\n"
    "  -v  verbose summary\n"
    "  -b  use the backup superblock at this block\n"
    "  -C  progress: e2fsck's completion lines on this file descriptor (0: a bar on a terminal)\n"
    "  --card-only  check only the card's metadata; --fs-only  only the filesystem\n";

struct FsckArgs {
  std::string image;
  std::optional<fsck::Mode> mode;
  bool force = false, verbose = false, card_only = false, fs_only = false;
  uint64_t superblock = 0;
  int progress_fd = -1;
};

std::string name() { return invoked_as("fsck"); }

// An error line naming the program as typed, e2fsck's way.
void complain(const std::string& what) { std::fprintf(stderr, "%s: %s\n", name().c_str(), what.c_str()); }

int usage(const std::string& why) {
  complain(why);
  std::fprintf(stderr, "Usage: %s%s", name().c_str(), kUsage);
  return kFsckUsage;
}

bool set_mode(FsckArgs& a, fsck::Mode m) {
  if (a.mode && *a.mode != m) return false;
  a.mode = m;
  return true;
}

// Returns an exit code when parsing ends the run (help or a usage error).
std::optional<int> parse(const std::vector<std::string>& argv, FsckArgs& a) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf("Usage: %s%s", name().c_str(), kUsage);
      return 0;
    }
    if (arg == "--card-only") { a.card_only = true; continue; }
    if (arg == "--fs-only") { a.fs_only = true; continue; }
    if (arg.size() < 2 || arg[0] != '-') {
      if (!a.image.empty()) return usage("more than one image given");
      a.image = arg;
      continue;
    }
    for (size_t k = 1; k < arg.size(); ++k) {
      const char c = arg[k];
      bool ok = true;
      switch (c) {
        case 'n': ok = set_mode(a, fsck::Mode::kNo); break;
        case 'p': case 'a': ok = set_mode(a, fsck::Mode::kPreen); break;
        case 'y': ok = set_mode(a, fsck::Mode::kYes); break;
        case 'f': a.force = true; break;
        case 'v': a.verbose = true; break;
        case 'b': case 'C': {
          std::string value = k + 1 < arg.size() ? arg.substr(k + 1) : (i + 1 < argv.size() ? argv[++i] : "");
          auto v = parse_uint(value, IntegerSyntax::kDecimal, c == 'b' ? UINT64_MAX : INT32_MAX);
          if (!v.is_ok()) return usage(std::string("-") + c + " needs a number: " + v.status().message());
          if (c == 'b') a.superblock = *v;
          else a.progress_fd = int(*v);
          k = arg.size();
          break;
        }
        default: return usage(std::string("unknown option -") + c);
      }
      if (!ok) return usage("only one of -n, -p/-a and -y may be given");
    }
  }
  if (a.image.empty()) return usage("no image given");
  if (a.card_only && a.fs_only) return usage("--card-only and --fs-only exclude each other");
  return std::nullopt;
}

std::optional<bool> ask_terminal(const std::string& question, bool& yes_to_all) {
  if (yes_to_all) {
    std::printf("%syes\n", question.c_str());
    return true;
  }
  for (;;) {
    std::printf("%s", question.c_str());
    std::fflush(stdout);
    std::string line;
    if (!std::getline(std::cin, line)) return std::nullopt;  // EOF: cancel
    if (line.empty() || line == "y" || line == "yes") return true;
    if (line == "n" || line == "no") return false;
    if (line == "a") return yes_to_all = true;
    std::printf("Answer y (yes), n (no) or a (yes to all).\n");
  }
}

struct OpenImage {
  std::unique_ptr<sdcard::Card> card;
  std::unique_ptr<fsck::ImageIo> io;
};

Result<OpenImage> open_image(const std::string& path, bool read_only, Clock& clock) {
  OpenImage o;
  sdcard::CardOptions co;
  co.read_only = read_only;
  co.rebuild_map = true;  // no valid checkpoint: rebuilt from the OOB scan, reported in run_fsck
  auto card = sdcard::Card::open(path, clock, co);
  if (card.is_ok()) {
    o.card = std::move(*card);
    o.io = std::make_unique<fsck::CardIo>(*o.card, read_only);
    return o;
  }
  // Not a card image: perhaps a raw filesystem image (e.g. exported).
  CARDFS_ASSIGN_OR_RETURN(auto file, fsck::FileIo::open(path, read_only));
  // The card's message names the image already (Card::open's context).
  if (!fsck::find_superblock(*file, 0).is_ok()) return Status::error(EINVAL, card.status().message());
  o.io = std::move(file);
  return o;
}

void write_stdout(std::string_view bytes) {
  std::fwrite(bytes.data(), 1, bytes.size(), stdout);
  std::fflush(stdout);
}

uint64_t steady_ms() {
  return uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now().time_since_epoch()).count());
}

// The completion protocol's reader may be slow (a pipe): short writes go on.
void write_all(int fd, const std::string& bytes) {
  for (size_t done = 0; done < bytes.size();) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the reader went away: fsck goes on without it
    done += size_t(n);
  }
}

// The options from the command line; -C FD > 0: e2fsck's completion lines.
fsck::FsckOptions fsck_options(const FsckArgs& a, fsck::Mode mode) {
  fsck::FsckOptions o;
  o.mode = mode;
  o.force = a.force;
  o.verbose = a.verbose;
  o.superblock = a.superblock;
  o.name = a.image;
  o.now_sec = uint64_t(std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count());
  if (a.progress_fd > 0) {
    o.progress = [fd = a.progress_fd, name = a.image](int pass, uint64_t done, uint64_t total) {
      write_all(fd, fsck::progress_protocol_line(pass, done, total, name));
    };
  }
  return o;
}

int run_fsck(const FsckArgs& a) {
  if (a.progress_fd > 0 && ::fcntl(a.progress_fd, F_GETFD) < 0) {  // e2fsck checks it too
    complain("-C " + std::to_string(a.progress_fd) + ": not an open file descriptor");
    return kFsckOperational;
  }
  const bool interactive = !a.mode && !a.card_only;
  if (interactive && !isatty(STDIN_FILENO)) {
    complain("need a terminal for interactive repairs (use -n, -p or -y)");
    return kFsckOperational;
  }
  const fsck::Mode mode = a.card_only ? fsck::Mode::kNo : a.mode.value_or(fsck::Mode::kAsk);
  const bool read_only = mode == fsck::Mode::kNo;
  // Held while repairing: no mount starts meanwhile (base/image_claim.h).
  std::optional<ImageClaim> guard;
  auto taken = ImageClaim::take(a.image);
  const bool mounted = taken.status().code() == EBUSY;
  if (mounted && !read_only) {
    complain(taken.status().message() + "; refusing to repair it (unmount it, or use -n)");
    return kFsckOperational;
  }
  if (mounted)
    std::printf("Warning: %s; the check may report changes in flight.\n", taken.status().message().c_str());
  if (!taken.is_ok() && taken.status().code() != EBUSY) {
    complain(taken.status().message());
    return kFsckOperational;
  }
  if (taken.is_ok()) guard.emplace(std::move(*taken));
  RealClock clock;
  auto img = open_image(a.image, read_only, clock);
  if (!img.is_ok()) {
    complain(img.status().message());
    return kFsckOperational;
  }
  int exit_code = 0;
  if (img->card && img->card->checkpoint_lost()) {
    // The map is rebuilt from the out-of-band scan; -y/-p write it (a new
    // checkpoint at close), -n only reads through it.
    std::printf("Card: no checkpoint slot is valid; the map was rebuilt from the out-of-band scan%s.\n",
                read_only ? " (fsck -y or `cardfs card repair` writes it)" : " and is written back");
    exit_code |= read_only ? fsck::kExitUncorrected : fsck::kExitCorrected;
  }
  if (img->card && !a.fs_only) {
    bool errors = false;
    for (const auto& p : fsck::check_card(*img->card, read_only)) {
      std::printf("Card: %s\n", p.message.c_str());
      errors |= !p.recovery_resolves;
    }
    if (errors) exit_code |= fsck::kExitUncorrected;
    if (a.card_only) {
      std::printf("%s: card metadata %s\n", a.image.c_str(), errors ? "has problems" : "clean");
      return exit_code;
    }
  } else if (a.card_only) {
    complain(a.image + " is not a card image");
    return kFsckOperational;
  }
  // The terminal's state across the check: a bar to clear, "a" answered.
  struct Terminal {
    std::optional<fsck::ProgressBar> bar;
    bool yes_to_all = false;
  } term;
  if (a.progress_fd == 0 && isatty(STDOUT_FILENO)) term.bar.emplace(a.image, write_stdout, steady_ms);
  fsck::FsckOptions o = fsck_options(a, mode);
  o.out = [&term](const std::string& line) {
    if (term.bar) term.bar->clear();
    std::printf("%s\n", line.c_str());
  };
  o.ask = [&term](const std::string& q) {
    if (term.bar) term.bar->clear();
    return ask_terminal(q, term.yes_to_all);
  };
  if (term.bar)
    o.progress = [&term](int pass, uint64_t done, uint64_t total) { term.bar->update(pass, done, total); };
  auto report = fsck::check_filesystem(*img->io, o);
  if (term.bar) term.bar->clear();
  if (!report.is_ok()) {
    complain(report.status().message());
    return kFsckOperational;
  }
  if (img->card && !read_only) {
    if (Status st = img->card->close(); !st.is_ok()) {
      complain("closing the card: " + st.message());
      return kFsckOperational;
    }
  }
  return exit_code | report->exit_code;
}

void add_fsck(CLI::App& app, CommandContext& ctx) {
  auto* sub = app.add_subcommand("fsck", "Check and repair a cardfs image (fsck.cardfs)");
  sub->prefix_command();
  sub->set_help_flag();
  sub->callback([&ctx, sub] {
    std::vector<std::string> args = sub->remaining();
    ctx.run = [args] {
      FsckArgs a;
      if (auto done = parse(args, a)) return *done;
      return run_fsck(a);
    };
  });
}

}  // namespace

CARDFS_REGISTER_COMMAND("fsck", add_fsck);

}  // namespace cardfs::tools
