#include "tests/sdcard/card_fixture.h"

#include <unistd.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "base/coding.h"
#include "sdcard/image_format.h"
#include "sdcard/page_store.h"

namespace cardfs::sdcard::testing {

const Profile& profile(const std::string& name) {
  Result<const Profile*> p = find_profile(name);
  if (!p.is_ok()) throw std::runtime_error(p.status().to_string());
  return **p;
}

TestStore TestStore::image(std::string path) {
  TestStore t;
  t.path_ = std::move(path);
  return t;
}

TestStore TestStore::memory() {
  TestStore t;
  t.medium_ = std::make_shared<MemoryMedium>();
  return t;
}

Result<std::unique_ptr<Card>> TestStore::create(const Profile& p, uint64_t bytes, Clock& clock,
                                                CardOptions o) const {
  if (medium_) return Card::create(memory_store(medium_), p, bytes, clock, std::move(o));
  return Card::create(path_, p, bytes, clock, std::move(o));
}

Result<std::unique_ptr<Card>> TestStore::open(Clock& clock, CardOptions o) const {
  if (medium_) return Card::open(memory_store(medium_), clock, std::move(o));
  return Card::open(path_, clock, std::move(o));
}

std::vector<std::byte> pattern(uint64_t first_sector, uint64_t sectors, uint32_t tag) {
  std::vector<std::byte> out(sectors * 512);
  for (uint64_t i = 0; i < sectors; ++i) {
    std::byte* s = out.data() + i * 512;
    for (int k = 0; k < 512; k += 16) {
      put_u32(s + k, tag);
      put_u64(s + k + 4, first_sector + i);
      put_u32(s + k + 12, tag ^ 0xA5A5A5A5u);
    }
  }
  return out;
}

int64_t tag_of(const std::byte* s, uint64_t sector) {
  bool zero = true;
  for (int k = 0; k < 512; ++k) zero = zero && s[k] == std::byte{0};
  if (zero) return 0;
  uint32_t tag = get_u32(s);
  for (int k = 0; k < 512; k += 16)
    if (get_u32(s + k) != tag || get_u64(s + k + 4) != sector || get_u32(s + k + 12) != (tag ^ 0xA5A5A5A5u))
      return -1;
  return tag;
}

uint64_t untagged_sectors(Card& card, uint64_t sector, uint64_t sectors, int64_t tag) {
  auto back = read(card, sector, sectors);
  if (!back.is_ok()) return sectors;
  uint64_t wrong = 0;
  for (uint64_t s = 0; s < sectors; ++s) wrong += tag_of(back->data() + s * 512, sector + s) != tag;
  return wrong;
}

Status write(Card& card, uint64_t sector, const std::vector<std::byte>& data, bool fua) {
  iovec v{const_cast<std::byte*>(data.data()), data.size()};
  return card.write(sector, std::span<const iovec>(&v, 1), fua);
}

Result<std::vector<std::byte>> read(Card& card, uint64_t sector, uint64_t sectors) {
  std::vector<std::byte> out(sectors * 512);
  iovec v{out.data(), out.size()};
  CARDFS_RETURN_IF_ERROR(card.read(sector, std::span<const iovec>(&v, 1)));
  return out;
}

std::vector<char> file_bytes(const std::string& path, uint64_t offset, size_t n) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(std::streamoff(offset));
  std::vector<char> out(n);
  in.read(out.data(), std::streamsize(n));
  return out;
}

void poke_file(const std::string& path, uint64_t offset, const std::vector<char>& bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(std::streamoff(offset));
  f.write(bytes.data(), std::streamsize(bytes.size()));
}

bool cut_short_upgrade_from(const std::string& path, uint32_t version) {
  const uint64_t bytes = std::filesystem::file_size(path);
  if (!set_header_version(path, version, true) || std::filesystem::file_size(path) >= bytes) return false;
  std::filesystem::resize_file(path, bytes);
  return true;
}

uint32_t header_version(const std::string& path) {
  const std::vector<char> raw = file_bytes(path, 0, kHeaderBytes);
  Result<ImageHeader> h = decode_header(std::as_bytes(std::span(raw)));
  return h.is_ok() ? h->version : 0;
}

bool set_header_version(const std::string& path, uint32_t version, bool with_backup) {
  const std::vector<char> raw = file_bytes(path, 0, kHeaderBytes);
  Result<ImageHeader> h = decode_header(std::as_bytes(std::span(raw)));
  if (!h.is_ok()) return false;
  // An older version's file ends where its layout does (version 4 adds
  // the erase and unit tables after the flash area).
  if (version < h->version) std::filesystem::resize_file(path, layout_for(h->geometry, version).file_bytes);
  h->version = version;
  std::array<std::byte, kHeaderBytes> buf;
  encode_header(*h, buf);
  const std::vector<char> bytes(reinterpret_cast<const char*>(buf.data()),
                                reinterpret_cast<const char*>(buf.data()) + buf.size());
  poke_file(path, 0, bytes);
  if (with_backup) poke_file(path, std::filesystem::file_size(path) - kHeaderBytes, bytes);
  return true;
}

}  // namespace cardfs::sdcard::testing
