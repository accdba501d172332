// `cardfs card`: create, inspect and export emulated SD card images.
//
//   cardfs card create IMAGE --profile class10 --size 2G
//   cardfs card info IMAGE [--json]
//   cardfs card profiles
//   cardfs card export IMAGE DIR [--realtime] [--trace NAME] [--record NAME]  (cmd_card_export.cpp; DIR/stat: counters)
//
// Errors are one line on stderr and exit status 1; an image is never
// modified by a failed command.
#include <cctype>
#include <cstdio>
#include <string>

#include "base/clock.h"
#include "base/image_claim.h"
#include "sdcard/card.h"
#include "sdcard/geometry.h"
#include "sdcard/profiles.h"
#include "tools/command.h"

namespace cardfs::tools {

int run_card_info(const std::string& image, bool json);                            // cmd_card_info.cpp
int run_card_export(const std::string& image, const std::string& dir, bool realtime,
                    bool foreground, const std::string& trace, const std::string& record);  // cmd_card_export.cpp

namespace {

int fail(const Status& st) {
  std::fprintf(stderr, "cardfs card: %s\n", st.message().c_str());
  return 1;
}

int run_create(const std::string& image, const std::string& profile_name, const std::string& size_text) {
  Result<const sdcard::Profile*> profile = sdcard::find_profile(profile_name);
  if (!profile.is_ok()) return fail(profile.status());
  Result<uint64_t> size = parse_size(size_text);
  if (!size.is_ok()) return fail(size.status());
  RealClock clock;
  auto card = sdcard::Card::create(image, **profile, *size, clock);
  if (!card.is_ok()) return fail(card.status());
  Status st = (*card)->close();
  if (!st.is_ok()) return fail(st);
  const sdcard::Geometry& g = (*card)->geometry();
  std::printf("%s: %s card, %llu bytes, %u AUs of %llu KiB (+%u spare)\n", image.c_str(), profile_name.c_str(),
              (unsigned long long)g.user_bytes(), g.user_aus, (unsigned long long)(g.au_bytes() >> 10), g.spare_aus);
  return 0;
}

// `cardfs card repair IMAGE`: Card::repair, with the image claimed (never
// one a daemon serves).
int run_repair(const std::string& image) {
  auto claim = ImageClaim::take_or_refuse(image, "not repairing it");
  if (!claim.is_ok()) return fail(claim.status());
  RealClock clock;
  auto done = sdcard::Card::repair(image, clock);
  if (!done.is_ok()) return fail(done.status());
  if (done->empty()) std::printf("%s: the card's metadata is sound; nothing to repair\n", image.c_str());
  for (const std::string& what : *done) std::printf("%s: %s.\n", image.c_str(), what.c_str());
  return 0;
}

int run_profiles() {
  std::printf("%-15s %-5s %-4s %-3s %-8s %-6s %-8s %-5s %-13s  %s\n", "name", "class", "uhs", "app", "AU",
              "buffer", "open AUs", "ftl", "P/E (NAND)", "summary");
  for (const sdcard::Profile& p : sdcard::profiles()) {
    std::printf("%-15s %-5u U%-3u A%-2u %-8s %-6s %-8u %-5s %-13s  %s\n", std::string(p.name).c_str(),
                p.speed_class, p.uhs_grade, p.app_class, (std::to_string(p.au_bytes >> 20) + " MiB").c_str(),
                (std::to_string(p.write_buffer_bytes >> 10) + "K").c_str(), p.open_aus,
                p.ftl == sdcard::FtlKind::kBlock ? "block" : "page",
                (std::to_string(p.rated_pe_cycles) + " (" + std::string(p.nand) + ")").c_str(),
                std::string(p.summary).c_str());
  }
  return 0;
}

void add_card(CLI::App& app, CommandContext& ctx) {
  auto* card = app.add_subcommand("card", "Create, inspect and export emulated SD card images");
  card->require_subcommand(1);

  struct CreateArgs {
    std::string image, profile = "class10", size;
  };
  auto create = std::make_shared<CreateArgs>();
  auto* c = card->add_subcommand("create", "Create a new card image (refuses to overwrite)");
  c->add_option("image", create->image, "Image file to create")->required();
  c->add_option("--profile", create->profile, "Card profile (see `cardfs card profiles`)");
  c->add_option("--size", create->size, "Capacity, a multiple of the AU (e.g. 2G)")->required()->check(kSize);
  c->callback([&ctx, create] { ctx.run = [create] { return run_create(create->image, create->profile, create->size); }; });

  struct InfoArgs {
    std::string image;
    bool json = false;
  };
  auto info = std::make_shared<InfoArgs>();
  auto* i = card->add_subcommand("info", "Registers, geometry, FTL state and wear of an image");
  i->add_option("image", info->image, "Card image")->required();
  i->add_flag("--json", info->json, "Machine-readable output");
  i->callback([&ctx, info] { ctx.run = [info] { return run_card_info(info->image, info->json); }; });

  auto repair_image = std::make_shared<std::string>();
  auto* r = card->add_subcommand("repair", "Rewrite a damaged header from its backup, extend a short image, "
                                           "rebuild a lost map from the out-of-band records");
  r->add_option("image", *repair_image, "Card image (not mounted)")->required();
  r->callback([&ctx, repair_image] { ctx.run = [repair_image] { return run_repair(*repair_image); }; });

  auto* p = card->add_subcommand("profiles", "List the card profiles");
  p->callback([&ctx] { ctx.run = [] { return run_profiles(); }; });

  struct ExportArgs {
    std::string image, dir, trace, record;
    bool realtime = false;
    bool foreground = false;
  };
  auto exp = std::make_shared<ExportArgs>();
  auto* e = card->add_subcommand(
      "export", "Expose the raw card as DIR/card through FUSE (a daemon until DIR is unmounted)");
  e->add_option("image", exp->image, "Card image")->required();
  e->add_option("dir", exp->dir, "Empty directory to mount on")->required();
  e->add_flag("--realtime", exp->realtime, "Take the card's device time in real time");
  e->add_flag("-f,--foreground", exp->foreground,
              "Stay in the foreground; print the card's counters on exit");
  e->add_option("--trace", exp->trace, "Record every card command in blktrace format (NAME.blktrace.N)");
  e->add_option("--record", exp->record, "Every card command with its data, and DIR/mark's lines, to NAME.blktrace.0 (crashtest)");
  e->callback([&ctx, exp] {
    ctx.run = [exp] { return run_card_export(exp->image, exp->dir, exp->realtime, exp->foreground, exp->trace, exp->record); };
  });
}

}  // namespace

CARDFS_REGISTER_COMMAND("card", add_card);

}  // namespace cardfs::tools
