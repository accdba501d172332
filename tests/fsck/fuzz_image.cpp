#include "tests/fsck/fuzz_image.h"

#include <cstring>
#include <string>
#include <vector>

#include "base/coding.h"
#include "base/crc32c.h"
#include "fusefs/layout.h"
#include "tools/fsck/fsck.h"
#include "tools/inspect/inspector.h"

namespace cardfs::fsck::testing {

namespace {

// Gives the primary superblock a right checksum, so that mutations reach
// past it (every other checksum is fsck's to judge).
void reseal_superblock(std::vector<std::byte>& b) {
  std::byte* sb = b.data() + fusefs::kSuperblockOffset;
  const uint32_t seed = crc32c(std::span<const std::byte>(sb + 136, 16));
  put_u32(sb + 1020, crc32c(seed, std::span<const std::byte>(sb, 1020)));
}

void inspect_all(ImageIo& io) {
  auto in = inspect::Inspector::open(io, nullptr);
  if (!in.is_ok()) return;
  const std::vector<std::vector<std::string>> commands = {
      {"super"}, {"groups"}, {"stat", "<2>"}, {"stat", "<11>"}, {"stat", "<12>"},
      {"ls", "-l", "/"}, {"ls", "-l", "<11>"}, {"ls", "-l", "<12>"}, {"blocks", "<12>"},
      {"bmap", "<12>", "300"}, {"cat", "<12>"}, {"icheck", "1", "100"}, {"ncheck", "12"},
      {"ffb", "4"}, {"ffi", "4"}, {"frag"}};
  for (const auto& words : commands) (void)(*in)->run(words);
}

bool checkable(std::span<const uint8_t> bytes) {
  return bytes.size() >= fusefs::kSuperblockOffset + fusefs::kSuperblockSize && bytes.size() <= kMaxFuzzImage;
}

std::vector<std::byte> sealed_copy(std::span<const uint8_t> bytes) {
  std::vector<std::byte> image(bytes.size());
  std::memcpy(image.data(), bytes.data(), bytes.size());
  reseal_superblock(image);
  return image;
}

Result<FsckReport> run_fsck(ImageIo& io, Mode mode) {
  FsckOptions o;
  o.mode = mode;
  o.force = true;
  return check_filesystem(io, o);
}

}  // namespace

int check_image_bytes(std::span<const uint8_t> bytes) {
  if (!checkable(bytes)) return -1;
  MemoryIo io(sealed_copy(bytes), /*read_only=*/true);
  auto r = run_fsck(io, Mode::kNo);
  inspect_all(io);
  return r.is_ok() ? r->exit_code : -1;
}

std::string repair_leftovers(std::span<const uint8_t> bytes) {
  if (!checkable(bytes)) return {};
  MemoryIo repaired(sealed_copy(bytes));
  auto first = run_fsck(repaired, Mode::kYes);
  if (!first.is_ok()) return {};  // not an image fsck can work on: nothing repaired
  MemoryIo io(repaired.bytes(), /*read_only=*/true);
  auto second = run_fsck(io, Mode::kNo);
  if (!second.is_ok()) return "the second check failed: " + second.status().to_string() + "\n";
  std::string left;
  for (const Finding& f : second->findings)
    left += std::string(problem_info(f.code).id) + ": " + f.message + "\n";
  return left;
}

}  // namespace cardfs::fsck::testing
