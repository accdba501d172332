// `cardfs mkfs` / `mkfs.cardfs`: make a cardfs filesystem on a card image.
//
//   mkfs.cardfs IMAGE --size 256M [--profile class10]    creates the card too
//   mkfs.cardfs [-F] [-b 4096] [-i 16384 | -N COUNT] [-L LABEL] [-U UUID]
//               [-m 5] [-O ^journal] [-J size=MiB] [-E nodiscard] [-q] IMAGE
//                                                      formats an existing one
//   mkfs.cardfs -n ...   shows what would be made and writes nothing (mke2fs -n)
//
// The filesystem is written through the whole stack (card, request queue,
// page cache), exactly as a mounted filesystem writes, after one discard of
// the whole card (as mke2fs does; -E nodiscard writes the zeroed inode
// tables instead). An image that already
// holds a cardfs filesystem is refused without -F. Errors are one line on
// stderr and exit status 1; usage errors exit 2.
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

#include "base/clock.h"
#include "base/image_claim.h"
#include "base/uuid.h"
#include "blockdev/queue.h"
#include "blockdev/sdcard_driver.h"
#include "cache/page_cache.h"
#include "fusefs/filesystem.h"
#include "fusefs/mkfs.h"
#include "sdcard/card.h"
#include "sdcard/geometry.h"
#include "sdcard/page_store.h"
#include "sdcard/profiles.h"
#include "tools/command.h"
#include "tools/program_name.h"

namespace cardfs::tools {
namespace {

struct MkfsArgs {
  std::string image, profile = "class10", size, label, uuid, features, journal_opts, extended;
  uint32_t block_size = 4096;
  uint32_t inode_ratio = 16384;
  uint64_t inode_count = 0;
  double reserved = 5.0;
  int force = 0;  // -F: overwrite a filesystem; -F -F: also an image in use
  bool quiet = false;
  bool dry_run = false;  // -n
};

int fail(const Status& st) {
  std::fprintf(stderr, "%s: %s\n", invoked_as("mkfs").c_str(), st.message().c_str());
  return 1;
}

// Durable: the card fdatasyncs the image at every flush and at close (after
// the checkpoint, and again after the clean header, its last write), and
// create() syncs the new file's directory: when mkfs exits 0 the new
// filesystem survives a host crash.
Result<std::unique_ptr<sdcard::Card>> open_or_create(const MkfsArgs& a, Clock& clock) {
  sdcard::CardOptions durable;
  durable.durable = true;
  const bool exists = std::filesystem::exists(a.image);
  if (exists && !a.size.empty())
    return Status::error(EEXIST, a.image + " exists: --size only applies when creating a card image");
  if (exists) return sdcard::Card::open(a.image, clock, durable);
  if (a.size.empty())
    return Status::error(ENOENT, a.image + " does not exist (give --size to create the card image)");
  CARDFS_ASSIGN_OR_RETURN(const sdcard::Profile* profile, sdcard::find_profile(a.profile));
  CARDFS_ASSIGN_OR_RETURN(uint64_t bytes, parse_size(a.size));
  return sdcard::Card::create(a.image, *profile, bytes, clock, durable);
}

// -O: mke2fs's feature list; only the journal can be turned off or on.
// -J size=N: the journal's size in MiB (mke2fs's -J size=). -E: discard or nodiscard.
Status parse_format_options(const MkfsArgs& a, fusefs::FormatOptions& o) {
  std::string list = a.features;
  for (size_t at = 0; at <= list.size();) {
    size_t end = std::min(list.find(',', at), list.size());
    std::string f = list.substr(at, end - at);
    at = end + 1;
    if (f.empty()) continue;
    if (f == "^journal" || f == "^has_journal") o.journal = false;
    else if (f == "journal" || f == "has_journal") o.journal = true;
    else return Status::error(EINVAL, "unknown feature '" + f + "' (-O takes journal or ^journal)");
  }
  for (size_t at = 0; at <= a.extended.size();) {  // -E: mke2fs's extended options
    size_t end = std::min(a.extended.find(',', at), a.extended.size());
    std::string e = a.extended.substr(at, end - at);
    at = end + 1;
    if (e == "discard") o.discard = true;
    else if (e == "nodiscard") o.discard = false;
    else if (!e.empty()) return Status::error(EINVAL, "unknown extended option '" + e + "' (-E takes discard or nodiscard)");
  }
  if (a.journal_opts.empty()) return Status::ok();
  if (!a.journal_opts.starts_with("size="))
    return Status::error(EINVAL, "-J takes size=MiB");
  CARDFS_ASSIGN_OR_RETURN(uint64_t mib, parse_size(a.journal_opts.substr(5)));
  const uint64_t blocks = (mib << 20) / a.block_size;
  if (mib == 0 || blocks > (1u << 20)) return Status::error(EINVAL, "journal size out of range");
  o.journal_blocks = uint32_t(blocks);
  return Status::ok();
}

bool holds_cardfs(blockdev::Queue& queue) {
  return fusefs::read_superblock(queue, true).status().code() != EINVAL;  // EINVAL: no magic at all
}

// -n: a dataless card (sdcard none_store) of the image's profile and
// capacity, or of the one --size and --profile would create; the real
// format then runs on it, so what is shown is what would be made. The
// image itself is only read, and not created.
Result<std::unique_ptr<sdcard::Card>> dataless_twin(const MkfsArgs& a, Clock& clock) {
  if (!std::filesystem::exists(a.image)) {
    if (a.size.empty())
      return Status::error(ENOENT, a.image + " does not exist (give --size to create the card image)");
    CARDFS_ASSIGN_OR_RETURN(const sdcard::Profile* profile, sdcard::find_profile(a.profile));
    CARDFS_ASSIGN_OR_RETURN(uint64_t bytes, parse_size(a.size));
    return sdcard::Card::create(sdcard::none_store(), *profile, bytes, clock);
  }
  if (!a.size.empty())
    return Status::error(EEXIST, a.image + " exists: --size only applies when creating a card image");
  sdcard::CardOptions read_only;
  read_only.read_only = true;
  CARDFS_ASSIGN_OR_RETURN(auto card, sdcard::Card::open(a.image, clock, read_only));
  if (!a.force && !a.quiet) {
    blockdev::SdcardDriver driver(*card);
    blockdev::Queue queue(driver, clock);
    if (holds_cardfs(queue)) std::printf("%s holds a cardfs filesystem: making one needs -F\n", a.image.c_str());
  }
  const sdcard::Profile profile = card->profile();
  const uint64_t bytes = card->sector_count() * blockdev::kSectorSize;
  return sdcard::Card::create(sdcard::none_store(), profile, bytes, clock);
}

Result<fusefs::FormatSummary> format_card(const MkfsArgs& a, sdcard::Card& card, Clock& clock) {
  fusefs::FormatOptions o;
  CARDFS_RETURN_IF_ERROR(parse_format_options(a, o));
  o.block_size = a.block_size;
  o.inode_ratio = a.inode_ratio;
  o.inode_count = a.inode_count;
  o.reserved_percent = a.reserved;
  o.label = a.label;
  CARDFS_ASSIGN_OR_RETURN(o.uuid, parse_uuid(a.uuid.empty() ? "random" : a.uuid));
  o.au_size = uint32_t(card.geometry().au_bytes());
  o.now_sec = uint64_t(std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count());
  const bool show = !a.quiet && isatty(STDOUT_FILENO);
  o.progress = [show, last = 0u](uint32_t done, uint32_t total) mutable {
    uint32_t pct = done * 100 / total;
    if (!show || (pct < last + 10 && done != total)) return;
    last = pct;
    std::printf("\rWriting group tables: %u/%u%s", done, total, done == total ? "\n" : "");
    std::fflush(stdout);
  };
  blockdev::SdcardDriver driver(card);
  blockdev::Queue queue(driver, clock);
  if (!a.force && holds_cardfs(queue))
    return Status::error(EEXIST, a.image + " already holds a cardfs filesystem (use -F to overwrite it)");
  cache::PageCache cache(queue, clock, a.block_size);
  auto sum = fusefs::format(cache, card.sector_count() * blockdev::kSectorSize, o);
  queue.wait_idle();
  return sum;
}

int run_dry_run(MkfsArgs a) {
  RealClock clock;
  auto twin = dataless_twin(a, clock);
  if (!twin.is_ok()) return fail(twin.status());
  a.force = 1;  // the twin holds nothing to protect
  auto sum = format_card(a, **twin, clock);
  if (!sum.is_ok()) return fail(sum.status());
  if (!a.quiet) std::printf("%s", sum->to_text().c_str());
  return 0;
}

int run_mkfs(const MkfsArgs& a) {
  if (a.dry_run) return run_dry_run(a);
  RealClock clock;
  // An image a daemon serves is refused, as mke2fs refuses a mounted
  // device; -F -F overrides. The claim is held while formatting.
  std::optional<ImageClaim> claim;
  if (std::filesystem::exists(a.image) && a.force < 2) {
    auto taken = ImageClaim::take_or_refuse(a.image, "will not make a filesystem here (-F -F overrides)");
    if (!taken.is_ok() && taken.status().code() == EBUSY) return fail(taken.status());
    if (taken.is_ok()) claim.emplace(std::move(*taken));
  }
  auto card = open_or_create(a, clock);
  if (!card.is_ok()) return fail(card.status());
  auto sum = format_card(a, **card, clock);
  Status closed = (*card)->close();
  if (!sum.is_ok()) return fail(sum.status());
  if (!closed.is_ok()) return fail(closed.with_context("closing " + a.image));
  if (!a.quiet) std::printf("%s", sum->to_text().c_str());
  return 0;
}

void add_mkfs(CLI::App& app, CommandContext& ctx) {
  auto a = std::make_shared<MkfsArgs>();
  auto* c = app.add_subcommand("mkfs", "Make a cardfs filesystem on a card image (mkfs.cardfs)");
  c->add_option("image", a->image, "Card image (created when --size is given)")->required();
  c->add_option("--size", a->size, "Create the card image with this capacity (e.g. 256M)")
      ->check(kSize);
  c->add_option("--profile", a->profile, "Card profile when creating (see `cardfs card profiles`)");
  c->add_option("-b,--block-size", a->block_size, "Block size: 1024, 2048 or 4096")
      ->check(CLI::IsMember({1024, 2048, 4096}));
  c->add_option("-i,--inode-ratio", a->inode_ratio, "Bytes per inode")->check(CLI::Range(1024u, 64u << 20));
  c->add_option("-N,--inodes", a->inode_count, "Number of inodes (overrides -i)");
  c->add_option("-L,--label", a->label, "Volume label (up to 16 bytes)");
  c->add_option("-U,--uuid", a->uuid, "Filesystem UUID, or random, time, null (default: random)");
  c->add_option("-m,--reserved", a->reserved, "Percentage of blocks reserved for root")
      ->check(CLI::Range(0.0, 50.0));
  c->add_option("-O,--features", a->features, "Features: ^journal makes no journal (ext2-style)");
  c->add_option("-J,--journal", a->journal_opts, "Journal options: size=MiB (default: by filesystem size)");
  c->add_option("-E,--extended", a->extended,
                 "Extended options: nodiscard writes the inode tables instead of discarding the card first");
  c->add_flag("-F,--force", a->force,
              "Overwrite an existing cardfs filesystem; twice (-F -F): even on an image in use");
  c->add_flag("-q,--quiet", a->quiet, "Print nothing but errors");
  c->add_flag("-n,--dry-run", a->dry_run, "Show what would be made; write nothing, create no image");
  c->callback([&ctx, a] { ctx.run = [a] { return run_mkfs(*a); }; });
}

}  // namespace

CARDFS_REGISTER_COMMAND("mkfs", add_mkfs);

}  // namespace cardfs::tools
