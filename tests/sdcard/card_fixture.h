// Helpers shared by the sdcard tests: a scratch directory per test, and
// sector-pattern buffers.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "sdcard/card.h"
#include "sdcard/memory_medium.h"
#include "sdcard/profiles.h"
#include "tests/support/scratch_dir.h"

namespace cardfs::sdcard::testing {

using cardfs::testing::ScratchDir;

const Profile& profile(const std::string& name);

// Where a test card lives: an image file (a path in a ScratchDir) or
// memory (the image format in a MemoryMedium, no file). Tests of the
// card's model use memory; tests of the image itself use a file. A card
// may be closed and opened again on the same TestStore either way.
class TestStore {
 public:
  static TestStore image(std::string path);
  static TestStore memory();
  Result<std::unique_ptr<Card>> create(const Profile& p, uint64_t bytes, Clock& clock, CardOptions o = {}) const;
  Result<std::unique_ptr<Card>> open(Clock& clock, CardOptions o = {}) const;

 private:
  std::string path_;                      // image, or empty
  std::shared_ptr<MemoryMedium> medium_;  // memory
};

// Fills a buffer of `sectors` sectors; each sector holds (tag, sector).
std::vector<std::byte> pattern(uint64_t first_sector, uint64_t sectors, uint32_t tag);
// The tag a sector's data was written with, or -1 when it matches none
// (0 stands for all zeros).
int64_t tag_of(const std::byte* sector_data, uint64_t sector);
// How many of `sectors` sectors from `sector` do not read back with `tag`
// (all of them when the read fails): 0 when the range holds what was written.
uint64_t untagged_sectors(Card& card, uint64_t sector, uint64_t sectors, int64_t tag);

Status write(Card& card, uint64_t sector, const std::vector<std::byte>& data, bool fua = false);
Result<std::vector<std::byte>> read(Card& card, uint64_t sector, uint64_t sectors);

// Raw bytes of an image file, and overwriting some in place (damage).
std::vector<char> file_bytes(const std::string& path, uint64_t offset, size_t n);
void poke_file(const std::string& path, uint64_t offset, const std::vector<char>& bytes);
// Rewrites an image's header with `version` (and its backup copy at the
// end of the file), the file cut to that version's layout when it is
// older; false when the header does not decode. Only for images whose
// records the older version reads alike (no erase, whole pages).
bool set_header_version(const std::string& path, uint32_t version, bool with_backup);
// An image of the current version relabelled `version` (set_header_version)
// and grown back to its size: an upgrade from `version` cut short after
// the file grew, before the headers were written. False if the relabelled
// file was not smaller (or the header does not decode).
bool cut_short_upgrade_from(const std::string& path, uint32_t version);
// The version in an image's header, 0 if it does not decode.
uint32_t header_version(const std::string& path);

}  // namespace cardfs::sdcard::testing
