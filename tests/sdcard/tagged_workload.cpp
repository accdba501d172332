#include "tests/sdcard/tagged_workload.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include "sdcard/image_format.h"
#include "sdcard/page_store.h"
#include "tests/sdcard/card_fixture.h"

namespace cardfs::sdcard::testing {

TaggedWorkload::TaggedWorkload(uint64_t card_bytes, uint64_t region_bytes, bool durable, uint32_t flush_every)
    : card_bytes(card_bytes),
      blocks(region_bytes / 4096),
      durable(durable),
      flush_every(flush_every),
      flushed(blocks, 0),
      written(blocks, 0) {}

CardOptions TaggedWorkload::options() const {
  CardOptions o;
  o.durable = durable;
  return o;
}

Result<std::unique_ptr<Card>> TaggedWorkload::create() {
  return Card::create(memory_store(medium), profile("class10"), card_bytes, clock, options());
}

Result<std::unique_ptr<Card>> TaggedWorkload::open() { return Card::open(memory_store(medium), clock, options()); }

bool TaggedWorkload::fill(Card& card) {
  for (uint64_t b = 0; b < blocks; b += 256, ++next) {
    const uint64_t n = std::min<uint64_t>(256, blocks - b);
    if (!write(card, b * 8, pattern(b * 8, n * 8, next)).is_ok()) return false;
    std::fill(written.begin() + b, written.begin() + b + n, next);
  }
  flushed = written;
  return card.flush().is_ok();
}

bool TaggedWorkload::run(Card& card, int writes, uint64_t seed, uint64_t limit) {
  std::mt19937_64 rng(seed);
  for (int i = 0; i < writes; ++i, ++next) {
    const uint64_t block = rng() % (limit ? limit : blocks);
    written[block] = next;
    if (!write(card, block * 8, pattern(block * 8, 8, next)).is_ok()) return false;
    if (next % flush_every == 0) {
      if (!card.flush().is_ok()) return false;
      flushed = written;
    }
  }
  return true;
}

uint64_t TaggedWorkload::lost_blocks(Card& card) const {
  uint64_t bad = 0;
  for (uint64_t b = 0; b < flushed.size(); ++b) {
    auto data = read(card, b * 8, 8);
    const int64_t tag = data.is_ok() ? tag_of(data->data(), b * 8) : -1;
    bad += !(tag == flushed[b] || (tag > int64_t(flushed[b]) && tag <= int64_t(written[b])));
  }
  return bad;
}

void TaggedWorkload::keeps_working(Result<std::unique_ptr<Card>>& card, uint64_t seed) {
  adopt(**card);
  REQUIRE(run(**card, 100, seed));
  REQUIRE((*card)->close().is_ok());
  card = open();
  REQUIRE(card.is_ok());
  CHECK(lost_blocks(**card) == 0);
}

void TaggedWorkload::adopt(Card& card) {
  for (uint64_t b = 0; b < flushed.size(); ++b) {
    auto data = read(card, b * 8, 8);
    REQUIRE(data.is_ok());
    flushed[b] = written[b] = uint32_t(tag_of(data->data(), b * 8));
  }
  ++next;
}

uint32_t entries_with_magic(const std::string& path, const Geometry& g, const char (&magic)[5]) {
  const ImageLayout l = layout_for(g);
  uint32_t n = 0;
  for (uint32_t au = 0; au < g.physical_aus(); ++au)
    n += file_bytes(path, l.merge_table_offset + uint64_t(au) * merge_entry_bytes(g), 4) ==
         std::vector<char>(magic, magic + 4);
  return n;
}

uint32_t rewrite_merge_entries(const std::string& path, const Geometry& g, bool packed,
                               const std::function<bool(MergeEntry&)>& rewrite) {
  const ImageLayout l = layout_for(g);
  const size_t bytes = merge_entry_bytes(g);
  uint32_t n = 0;
  for (uint32_t au = 0; au < g.physical_aus(); ++au) {
    std::vector<char> raw = file_bytes(path, l.merge_table_offset + uint64_t(au) * bytes, bytes);
    MergeEntry m;
    if (decode_merge_entry(au, std::as_bytes(std::span(raw)), g, &m) != OobState::kValid || !rewrite(m)) continue;
    encode_merge_entry(m, g, reinterpret_cast<std::byte*>(raw.data()), packed);
    poke_file(path, l.merge_table_offset + uint64_t(au) * bytes, raw);
    ++n;
  }
  return n;
}

}  // namespace cardfs::sdcard::testing
