// `cardfs inspect [OPTIONS] IMAGE [COMMAND [ARGS...]]`: a debugfs-style
// look inside a card image, read-only unless --write. As debugfs: -R runs
// one request, -f a file of them; without either nor a command, a prompt
// with line editing and history on a terminal (libedit), or commands read
// from piped input. Options may stand anywhere on the line; an unknown one
// is refused, never ignored. With --write the repair commands ask on the
// terminal before each write (--yes answers for them; without a terminal
// --yes is needed) and a mounted image is refused. See docs/inspect.md.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/image_claim.h"
#include "sdcard/card.h"
#include "tools/command.h"
#include "tools/fsck/card_io.h"
#include "tools/inspect/inspector.h"
#include "tools/inspect/line_reader.h"
#include "tools/program_name.h"

namespace cardfs::tools {
namespace {

constexpr int kExitUsage = 2;

const char* kUsage =
    "Usage: %s [OPTIONS] IMAGE [COMMAND [ARGS...]]\n"
    "Look inside a cardfs image, as debugfs and dumpe2fs do; read-only unless --write.\n"
    "Without a command, -R or -f: a prompt (line editing, history in ~/.cardfs_inspect_history)\n"
    "on a terminal, else one command per line from standard input.\n\n"
    "Options (anywhere on the line; after --, words are never options):\n"
    "  --json        JSON output, one line per command\n"
    "  -R REQUEST    run one request, e.g. -R \"stat /etc/passwd\"\n"
    "  -f CMDFILE    run the commands in CMDFILE (- for standard input), echoing each\n"
    "  --write       open the image read-write: the repair commands run too\n"
    "  --yes         answer yes to the repair commands' questions (needs --write)\n"
    "  -h, --help    this help\n\n"
    "Commands:\n";

struct Flags {
  bool json = false, write = false, yes = false, help = false;
  std::optional<std::string> request, cmdfile;
  std::string image;
  std::vector<std::string> command;  // with its arguments
};

std::string name() { return invoked_as("inspect"); }

int usage_error(const std::string& why) {
  std::fprintf(stderr, "%s: %s\nRun '%s --help' for usage.\n", name().c_str(), why.c_str(), name().c_str());
  return kExitUsage;
}

// Options anywhere: before or after the image and among the command's
// words. A word starting with '-' that is not one of them is refused
// before the command word and belongs to the command after it (ls -l).
std::optional<int> parse(const std::vector<std::string>& args, Flags& f) {
  bool options = true;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* opt) -> std::optional<std::string> {
      if (i + 1 < args.size()) return args[++i];
      usage_error(std::string(opt) + " needs a value");
      return std::nullopt;
    };
    if (options && a == "--") { options = false; continue; }
    if (options && a == "--json") { f.json = true; continue; }
    if (options && a == "--write") { f.write = true; continue; }
    if (options && a == "--yes") { f.yes = true; continue; }
    if (options && (a == "-h" || a == "--help")) { f.help = true; continue; }
    if (options && (a == "-R" || a == "-f")) {
      auto v = value(a.c_str());
      if (!v) return kExitUsage;
      (a == "-R" ? f.request : f.cmdfile) = *v;
      continue;
    }
    const bool option_like = options && a.size() > 1 && a[0] == '-';
    if (option_like && (f.command.empty() || a.starts_with("--")))
      return usage_error("unknown option '" + a + "'");
    if (f.image.empty()) f.image = a;
    else f.command.push_back(a);
  }
  return std::nullopt;
}

int print(inspect::Inspector& in, const std::vector<std::string>& words, bool json) {
  auto out = in.run(words);
  if (!out.is_ok()) {
    std::fprintf(stderr, "%s: %s\n", words[0].c_str(), out.status().message().c_str());
    return 1;
  }
  if (json) std::printf("%s\n", out->value.json().c_str());
  else if (out->raw) std::fwrite(out->raw->data(), 1, out->raw->size(), stdout);
  else std::printf("%s", out->value.text().c_str());
  std::fflush(stdout);
  return 0;
}

std::vector<std::string> words_of(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

// Asks on the terminal; without one only --yes writes.
bool confirm(const Flags& f, const std::string& what) {
  if (f.yes) return true;
  if (!isatty(STDIN_FILENO)) return false;
  std::printf("%s. Write? [y/N] ", what.c_str());
  std::fflush(stdout);
  std::string line;
  if (!std::getline(std::cin, line)) return false;
  return line == "y" || line == "yes";
}

// Runs every line until the input ends or says quit. echo: print each
// command first, as debugfs -f does. Returns 1 if any command failed.
int run_lines(inspect::Inspector& in, inspect::LineReader& lines, bool json, bool echo) {
  int rc = 0;
  while (auto line = lines.next()) {
    if (line->starts_with("#")) continue;
    auto words = words_of(*line);
    if (words.empty()) continue;
    if (words[0] == "quit" || words[0] == "exit" || words[0] == "q") break;
    if (echo && !json) std::printf("cardfs inspect: %s\n", line->c_str());
    rc |= print(in, words, json);
  }
  return rc;
}

struct OpenImage {
  std::optional<ImageClaim> guard;  // held while writing: no mount starts meanwhile
  RealClock clock;
  std::unique_ptr<sdcard::Card> card;
  std::unique_ptr<fsck::ImageIo> io;
};

Status open_image(const Flags& f, OpenImage& o) {
  if (f.write) {
    auto taken = ImageClaim::take(f.image);
    if (taken.status().code() == EBUSY) return taken.status().with_context("refusing to write to it");
    CARDFS_RETURN_IF_ERROR(taken.status());
    o.guard.emplace(std::move(*taken));
  }
  sdcard::CardOptions co;
  co.read_only = !f.write;
  auto c = sdcard::Card::open(f.image, o.clock, co);
  if (c.is_ok()) {
    o.card = std::move(*c);
    o.io = std::make_unique<fsck::CardIo>(*o.card, !f.write);
    return Status::ok();
  }
  auto file = fsck::FileIo::open(f.image, !f.write);
  if (!file.is_ok()) return c.status();
  o.io = std::move(*file);
  return Status::ok();
}

int run_session(const Flags& f, inspect::Inspector& in) {
  if (f.request) {
    auto words = words_of(*f.request);
    return words.empty() ? usage_error("-R: an empty request") : print(in, words, f.json);
  }
  if (!f.command.empty()) return print(in, f.command, f.json);
  if (f.cmdfile) {
    if (*f.cmdfile == "-") return run_lines(in, *inspect::LineReader::stream(std::cin), f.json, true);
    std::ifstream file(*f.cmdfile);
    if (!file) return usage_error("-f " + *f.cmdfile + ": cannot read it");
    return run_lines(in, *inspect::LineReader::stream(file), f.json, true);
  }
  if (!isatty(STDIN_FILENO)) return run_lines(in, *inspect::LineReader::stream(std::cin), f.json, false);
  auto prompt = inspect::LineReader::terminal("cardfs inspect> ", inspect::default_history_file());
  const int rc = run_lines(in, *prompt, f.json, false);
  std::printf("\n");
  return rc;
}

int run_inspect(const std::vector<std::string>& args) {
  Flags f;
  if (auto done = parse(args, f)) return *done;
  if (f.help) {
    std::printf(kUsage, name().c_str());
    std::printf("%s", inspect::command_table().text().c_str());
    return 0;
  }
  if (f.image.empty()) return usage_error("no image given");
  if (f.yes && !f.write) return usage_error("--yes needs --write");
  if (int(f.request.has_value()) + int(f.cmdfile.has_value()) + int(!f.command.empty()) > 1)
    return usage_error("give one of a command, -R and -f");
  OpenImage o;
  if (Status st = open_image(f, o); !st.is_ok()) {
    std::fprintf(stderr, "%s: %s\n", name().c_str(), st.message().c_str());
    return 1;
  }
  auto in = inspect::Inspector::open(*o.io, o.card.get());
  if (!in.is_ok()) {
    std::fprintf(stderr, "%s: %s: %s\n", name().c_str(), f.image.c_str(), in.status().message().c_str());
    return 1;
  }
  (*in)->set_confirm([&f](const std::string& what) { return confirm(f, what); });
  return run_session(f, **in);
}

void add_inspect(CLI::App& app, CommandContext& ctx) {
  auto* sub = app.add_subcommand("inspect", "Look inside a cardfs image (debugfs/dumpe2fs style; --help lists its commands)");
  sub->prefix_command();
  sub->set_help_flag();  // its own --help, with the command list
  sub->callback([&ctx, sub] {
    std::vector<std::string> args = sub->remaining();
    ctx.run = [args] { return run_inspect(args); };
  });
}

}  // namespace

CARDFS_REGISTER_COMMAND("inspect", add_inspect);

}  // namespace cardfs::tools
