// `cardfs inspect [--json] [--write [--yes]] IMAGE [COMMAND [ARGS...]]`: a
// debugfs-style look inside a card image, read-only unless --write. Without
// a command it reads commands from standard input (a prompt on a terminal);
// `help` lists them. With --write the repair commands ask on the terminal
// before each write (--yes answers for them; without a terminal --yes is
// needed) and a mounted image is refused. See docs/inspect.md.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tools/command.h"
#include "base/clock.h"
#include "base/image_claim.h"
#include "sdcard/card.h"
#include "tools/fsck/card_io.h"
#include "tools/inspect/inspector.h"

namespace cardfs::tools {
namespace {

int print(inspect::Inspector& in, const std::vector<std::string>& words, bool json) {
  auto out = in.run(words);
  if (!out.is_ok()) {
    std::fprintf(stderr, "inspect: %s\n", out.status().message().c_str());
    return 1;
  }
  if (json) {
    std::printf("%s\n", out->value.json().c_str());
  } else if (out->raw) {
    std::fwrite(out->raw->data(), 1, out->raw->size(), stdout);
  } else {
    std::printf("%s", out->value.text().c_str());
  }
  return 0;
}

struct Flags {
  bool json = false, write = false, yes = false;
};

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

int run_inspect(std::vector<std::string> args) {
  Flags f;
  std::vector<std::string> rest;
  for (const auto& a : args) {
    if (rest.empty() && a == "--json") f.json = true;
    else if (rest.empty() && a == "--write") f.write = true;
    else if (rest.empty() && a == "--yes") f.yes = true;
    else rest.push_back(a);
  }
  if (rest.empty() || (f.yes && !f.write)) {
    std::fprintf(stderr, "usage: cardfs inspect [--json] [--write [--yes]] IMAGE [COMMAND [ARGS...]]\n");
    return 2;
  }
  const std::string image = rest[0];
  std::optional<ImageClaim> guard;  // held while writing: no mount starts meanwhile
  if (f.write) {
    auto taken = ImageClaim::take(image);
    if (taken.status().code() == EBUSY) {
      std::fprintf(stderr, "inspect: %s; refusing to write to it\n", taken.status().message().c_str());
      return 1;
    }
    if (!taken.is_ok()) {
      std::fprintf(stderr, "inspect: %s\n", taken.status().message().c_str());
      return 1;
    }
    guard.emplace(std::move(*taken));
  }
  RealClock clock;
  sdcard::CardOptions co;
  co.read_only = !f.write;
  std::unique_ptr<sdcard::Card> card;
  std::unique_ptr<fsck::ImageIo> io;
  if (auto c = sdcard::Card::open(image, clock, co); c.is_ok()) {
    card = std::move(*c);
    io = std::make_unique<fsck::CardIo>(*card, !f.write);
  } else if (auto file = fsck::FileIo::open(image, !f.write); file.is_ok()) {
    io = std::move(*file);
  } else {
    std::fprintf(stderr, "inspect: %s\n", c.status().message().c_str());
    return 1;
  }
  auto in = inspect::Inspector::open(*io, card.get());
  if (!in.is_ok()) {
    std::fprintf(stderr, "inspect: %s: %s\n", image.c_str(), in.status().message().c_str());
    return 1;
  }
  (*in)->set_confirm([&f](const std::string& what) { return confirm(f, what); });
  const bool json = f.json;
  if (rest.size() > 1) return print(**in, {rest.begin() + 1, rest.end()}, json);
  const bool tty = isatty(STDIN_FILENO);
  int rc = 0;
  for (;;) {
    if (tty) {
      std::printf("cardfs inspect> ");
      std::fflush(stdout);
    }
    std::string line;
    if (!std::getline(std::cin, line)) break;
    std::istringstream words_in(line);
    std::vector<std::string> words;
    for (std::string w; words_in >> w;) words.push_back(w);
    if (words.empty()) continue;
    if (words[0] == "quit" || words[0] == "exit" || words[0] == "q") break;
    rc = print(**in, words, json);
  }
  if (tty) std::printf("\n");
  return rc;
}

void add_inspect(CLI::App& app, CommandContext& ctx) {
  auto* sub = app.add_subcommand("inspect", "Look inside a cardfs image (debugfs/dumpe2fs style)");
  sub->prefix_command();
  sub->callback([&ctx, sub] {
    std::vector<std::string> args = sub->remaining();
    ctx.run = [args] {
      return run_inspect(args);
    };
  });
}

}  // namespace

CARDFS_REGISTER_COMMAND("inspect", add_inspect);

}  // namespace cardfs::tools
