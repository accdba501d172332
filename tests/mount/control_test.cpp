#include "fusefs/fuse/control.h"

#include <catch2/catch.hpp>
#include <atomic>

using namespace cardfs;
using namespace cardfs::fuse;

namespace {
constexpr uint64_t kBase = 1ull << 40;

struct Fixture {
  std::atomic<int> ratio{20};
  ControlTree tree{kBase};
  Fixture() {
    tree.add({"stat", [] { return std::string("card.commands 7\n"); }, nullptr});
    tree.add({"vm/dirty_ratio", [this] { return std::to_string(ratio.load()) + "\n"; },
              [this](std::string_view v) -> Status {
                if (v != "30") return Status::error(EINVAL, "'" + std::string(v) + "' refused");
                ratio = 30;
                return Status::ok();
              }});
    tree.add({"vm/cache_size", [] { return std::string("1\n"); }, nullptr});
  }
};
}  // namespace

TEST_CASE("control files are found by parent and name, directories implied") {
  Fixture f;
  CHECK(f.tree.root_ino() == kBase);
  auto vm = f.tree.lookup(kBase, "vm");
  REQUIRE(vm);
  CHECK(vm->is_dir);
  auto ratio = f.tree.lookup(vm->ino, "dirty_ratio");
  REQUIRE(ratio);
  CHECK_FALSE(ratio->is_dir);
  CHECK(ratio->writable);
  CHECK(ratio->name == "dirty_ratio");
  CHECK_FALSE(f.tree.lookup(kBase, "dirty_ratio"));
  CHECK_FALSE(f.tree.lookup(kBase, ""));
  CHECK_FALSE(f.tree.lookup(ratio->ino, "x"));  // a file has no children
  CHECK(f.tree.owns(ratio->ino));
  CHECK_FALSE(f.tree.owns(kBase - 1));
  CHECK_FALSE(f.tree.owns(kBase + 100));
  CHECK(f.tree.stat(kBase)->name == ".cardfs");
}

TEST_CASE("listing a control directory gives its direct children in order") {
  Fixture f;
  auto top = f.tree.list(kBase);
  REQUIRE(top.size() == 2);
  CHECK(top[0].name == "stat");
  CHECK(top[1].name == "vm");
  auto vm = f.tree.list(top[1].ino);
  REQUIRE(vm.size() == 2);
  CHECK(vm[0].name == "dirty_ratio");
  CHECK(vm[1].name == "cache_size");
  CHECK_FALSE(vm[1].writable);
}

TEST_CASE("writes go to the tunable, trimmed; read-only files refuse") {
  Fixture f;
  auto vm = f.tree.lookup(kBase, "vm");
  auto ratio = f.tree.lookup(vm->ino, "dirty_ratio");
  CHECK(*f.tree.read(ratio->ino) == "20\n");
  CHECK(f.tree.write(ratio->ino, " 30\n").is_ok());
  CHECK(*f.tree.read(ratio->ino) == "30\n");
  Status bad = f.tree.write(ratio->ino, "abc");
  CHECK(bad.code() == EINVAL);
  CHECK(bad.message().find("vm/dirty_ratio") != std::string::npos);
  auto size = f.tree.lookup(vm->ino, "cache_size");
  CHECK(f.tree.write(size->ino, "5").code() == EACCES);
  CHECK(f.tree.read(vm->ino).status().code() == EISDIR);
  CHECK(f.tree.read(kBase + 99).status().code() == ENOENT);
}

TEST_CASE("trim_value strips whitespace around a written value") {
  CHECK(trim_value("  mq-deadline\n") == "mq-deadline");
  CHECK(trim_value("\n\n").empty());
  CHECK(trim_value("a b") == "a b");
}
