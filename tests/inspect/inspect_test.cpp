// Golden-output tests of every inspect command on a fixed image (made
// in-process with fixed UUID, times and contents), and the --json schema.
// CARDFS_UPDATE_GOLDEN=1 rewrites the golden files (review the diff).
#include <catch2/catch.hpp>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tests/inspect/inspect_fixture.h"
#include "tests/support/scratch_dir.h"

namespace cardfs::inspect {
namespace {

using Fixed = testing::InspectedImage;

void check_golden(const std::string& name, const std::string& got) {
  const std::string path = std::string(CARDFS_INSPECT_GOLDEN_DIR) + "/" + name + ".txt";
  if (std::getenv("CARDFS_UPDATE_GOLDEN")) {
    std::ofstream(path) << got;
    return;
  }
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream want;
  want << in.rdbuf();
  INFO("golden " << path);
  CHECK(got == want.str());
}

}  // namespace

TEST_CASE("inspect: golden text output of each command") {
  Fixed f;
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"super", {"super"}},
      {"groups", {"groups"}},
      {"stat_a", {"stat", "/a.txt"}},
      {"stat_link", {"stat", "/link"}},
      {"blocks_big", {"blocks", "/big.bin"}},
      {"bmap_big", {"bmap", "/big.bin", "20"}},
      {"ls_root", {"ls", "-l", "/"}},
      {"ls_hashed", {"ls", "/hashed"}},
      {"ls_hashed_long", {"ls", "-l", "/hashed"}},
      {"icheck", {"icheck", "3", "144", "428", "20000"}},
      {"ncheck", {"ncheck", "12", "14"}},
      {"ffb", {"ffb", "3"}},
      {"ffi", {"ffi", "2"}},
      {"frag", {"frag"}},
      {"help", {"help"}},
  };
  for (const auto& [name, words] : cases) {
    INFO(name);
    check_golden(name, f.run(words).value.text());
  }
  // stats prints dumpe2fs's layout (raw text): the superblock, then each
  // group with its free block and inode ranges.
  const Output stats = f.run({"stats"});
  REQUIRE(stats.raw);
  check_golden("stats", *stats.raw);
}

TEST_CASE("inspect: cat returns the file's bytes, holes as zeros") {
  Fixed f;
  for (const auto& [path, want] : f.img.files()) {
    INFO(path);
    Output o = f.run({"cat", path});
    REQUIRE(o.raw);
    CHECK(*o.raw == want);
  }
  CHECK(*f.run({"cat", "/link"}).raw == "dir1/f1");
}

TEST_CASE("inspect: dump copies a file out and never overwrites") {
  Fixed f;
  cardfs::testing::ScratchDir dir("inspect-dump");
  const std::string dest = dir.path("big.bin");
  f.run({"dump", "/big.bin", dest});
  std::ifstream in(dest, std::ios::binary);
  std::stringstream got;
  got << in.rdbuf();
  CHECK(got.str() == f.img.files().at("/big.bin"));
  CHECK(f.inspector->run({"dump", "/a.txt", dest}).status().code() == EEXIST);
}

TEST_CASE("inspect: errors name what is wrong") {
  Fixed f;
  CHECK(f.inspector->run({"stat", "/nope"}).status().code() == ENOENT);
  CHECK(f.inspector->run({"frobnicate"}).status().code() == EINVAL);
  CHECK(f.inspector->run({"bmap", "/a.txt"}).status().code() == EINVAL);
  CHECK(f.inspector->run({"card"}).status().code() == EINVAL);  // not a card image
  CHECK(f.inspector->run({"ls", "/a.txt"}).status().code() == ENOTDIR);
}

// The --json schema (docs/inspect.md): required keys and their kinds.
TEST_CASE("inspect: JSON output follows the documented schema") {
  Fixed f;
  using K = Value::Kind;
  struct Rule {
    std::vector<std::string> words;
    std::vector<std::pair<std::string, K>> keys;  // for arrays: keys of each row
  };
  const std::vector<Rule> rules = {
      {{"super"}, {{"magic", K::kString}, {"block_size", K::kInt}, {"blocks", K::kInt},
                   {"free_blocks", K::kInt}, {"inodes", K::kInt}, {"groups", K::kInt}, {"uuid", K::kString}}},
      {{"groups"}, {{"group", K::kInt}, {"first", K::kInt}, {"block_bitmap", K::kInt},
                    {"inode_table", K::kInt}, {"free_blocks", K::kInt}, {"ok", K::kBool}}},
      {{"stat", "/a.txt"}, {{"inode", K::kInt}, {"type", K::kString}, {"size", K::kInt},
                            {"links", K::kInt}, {"block_pointers", K::kArray}}},
      {{"blocks", "/big.bin"}, {{"inode", K::kInt}, {"indirect", K::kArray}, {"extents", K::kArray}}},
      {{"ls", "-l", "/"}, {{"directory", K::kInt}, {"indexed", K::kBool}, {"entries", K::kArray}}},
      {{"icheck", "3"}, {{"block", K::kInt}}},
      {{"ncheck", "12"}, {{"inode", K::kInt}, {"path", K::kString}}},
      {{"ffb"}, {{"free_blocks", K::kArray}}},
      {{"ffi"}, {{"free_inodes", K::kArray}}},
      {{"frag"}, {{"files", K::kInt}, {"fragmented", K::kInt}, {"extents", K::kInt}}},
      {{"stats"}, {{"superblock", K::kObject}, {"groups", K::kArray}}},
  };
  for (const Rule& r : rules) {
    INFO(r.words[0]);
    Value v = f.run(r.words).value;
    std::vector<const Value*> objects;
    if (v.kind() == K::kArray) {
      REQUIRE(!v.items().empty());
      for (const Value& row : v.items()) objects.push_back(&row);
    } else {
      objects.push_back(&v);
    }
    for (const Value* o : objects)
      for (const auto& [key, kind] : r.keys) {
        INFO(key);
        const Value* field = o->find(key);
        REQUIRE(field);
        CHECK(field->kind() == kind);
      }
    const std::string j = v.json();
    CHECK(std::count(j.begin(), j.end(), '{') == std::count(j.begin(), j.end(), '}'));
    CHECK(std::count(j.begin(), j.end(), '[') == std::count(j.begin(), j.end(), ']'));
  }
}

TEST_CASE("inspect: ls -l shows a hashed directory's index tree") {
  Fixed f;
  using K = Value::Kind;
  Value v = f.run({"ls", "-l", "/hashed"}).value;
  const Value* index = v.find("index");
  REQUIRE(index);
  for (auto [key, kind] : std::vector<std::pair<std::string, K>>{{"hash_version", K::kInt}, {"levels", K::kInt},
                                                                 {"limit", K::kInt}, {"count", K::kInt},
                                                                 {"entries", K::kArray}, {"leaves", K::kArray}}) {
    INFO(key);
    REQUIRE(index->find(key));
    CHECK(index->find(key)->kind() == kind);
  }
  CHECK(!index->find("error"));
  // Every entry of the directory but '.' and '..' is in exactly one leaf.
  size_t in_leaves = 0;
  for (const Value& leaf : index->find("leaves")->items()) {
    CHECK(leaf.find("hash_from")->kind() == K::kString);
    for (const Value& e : leaf.find("entries")->items()) {
      CHECK(e.find("hash")->kind() == K::kString);
      CHECK(e.find("inode")->kind() == K::kInt);
      ++in_leaves;
    }
  }
  CHECK(in_leaves + 2 == v.find("entries")->items().size());
  CHECK(index->find("leaves")->items().size() == index->find("entries")->items().size());
  CHECK(!f.run({"ls", "-l", "/"}).value.find("index"));  // not indexed
}

TEST_CASE("inspect: text and JSON escape what they must") {
  Value v = Value::object();
  v.add("name", "a\"b\\c\n").add("n", 3).add("none", Value());
  CHECK(v.json() == "{\"name\":\"a\\\"b\\\\c\\n\",\"n\":3,\"none\":null}");
  CHECK(human_bytes(1536) == "1.5 KiB");
  CHECK(human_bytes(100) == "100 B");
}

TEST_CASE("inspect: quantities are numbers in JSON, with the unit in the key") {
  Value v = Value::object();
  v.add("capacity", Value::bytes(4ull << 30)).add("fragmented_percent", Value::percent(0.125));
  CHECK(v.json() == "{\"capacity_bytes\":4294967296,\"fragmented_percent\":0.125}");
  CHECK(v.text() == "capacity:            4.0 GiB\nfragmented_percent:  0.1%\n");
}

TEST_CASE("inspect: blocks and bmap mark what fallocate allocated and nothing wrote") {
  Fixed f;
  // 40 blocks of 1 KiB, unwritten but for block 20.
  f.img.add_preallocated_file("pre", 40 * 1024, 20 * 1024, "w", 0);
  auto marked = [](const Value& v) {
    const Value* u = v.find("unwritten");
    return u && u->kind() == Value::Kind::kBool && u->json() == "true";
  };
  const Value blocks = f.run({"blocks", "/pre"}).value;
  INFO(blocks.json());
  const auto& extents = blocks.find("extents")->items();
  REQUIRE(extents.size() >= 3);
  CHECK(marked(extents[0]));
  CHECK(marked(extents.back()));
  size_t written = 0;
  for (const Value& e : extents) written += !marked(e);
  CHECK(written == 1);  // block 20, the one written
  CHECK(marked(f.run({"bmap", "/pre", "3"}).value));
  CHECK(f.run({"bmap", "/pre", "3"}).value.find("disk_block")->scalar_text() != "0");
  CHECK_FALSE(marked(f.run({"bmap", "/pre", "20"}).value));
  CHECK(*f.run({"cat", "/pre"}).raw == f.img.files().at("/pre"));
}

TEST_CASE("inspect: a 64-bit unsigned value above INT64_MAX stays unsigned in text and JSON") {
  Value v = Value::object();
  v.add("max", uint64_t(UINT64_MAX)).add("neg", int64_t(-1));
  CHECK(v.json() == "{\"max\":18446744073709551615,\"neg\":-1}");
  CHECK(v.text() == "max:  18446744073709551615\nneg:  -1\n");
}

}  // namespace cardfs::inspect
