#include "fusefs/fuse/control.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <atomic>

#include "fusefs/fuse/trace_name.h"

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

TEST_CASE("writes go to the tunable, trimmed - read-only files refuse") {
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

// Regression (issue 20): `echo "start dd" > MNT/.cardfs/trace` wrote
// /dd.blktrace.0 (the daemon's working directory) and `cardfs trace dd`,
// run where the echo was typed, found nothing.
TEST_CASE("a trace name is the writer's: relative to its working directory, never in the mount") {
  char cwd[4096];
  REQUIRE(::getcwd(cwd, sizeof cwd) != nullptr);
  const std::string here = cwd;
  auto rel = resolve_trace_name("dd", ::getpid(), "/mnt/card");
  REQUIRE(rel.is_ok());
  CHECK(*rel == (here == "/" ? "" : here) + "/dd");
  CHECK(resolve_trace_name("/tmp/x/dd", ::getpid(), "/mnt/card").value() == "/tmp/x/dd");
  // Unknown writer: a relative name is refused with a message.
  auto unknown = resolve_trace_name("dd", 0, "/mnt/card");
  CHECK(unknown.status().code() == EINVAL);
  CHECK(unknown.status().message().find("absolute") != std::string::npos);
  // Inside the traced mount: refused, whether given so or reached from a cwd.
  CHECK(resolve_trace_name("/mnt/card/dd", ::getpid(), "/mnt/card").status().code() == EINVAL);
  CHECK(resolve_trace_name("dd", ::getpid(), here).status().code() == EINVAL);
  CHECK(resolve_trace_name("/mnt/cardx/dd", ::getpid(), "/mnt/card").is_ok());
}

TEST_CASE("a file written through write_from learns the writer's pid") {
  ControlTree tree{kBase};
  pid_t seen = -1;
  tree.add({"trace", [] { return std::string("off\n"); }, nullptr,
            [&seen](std::string_view, pid_t writer) {
              seen = writer;
              return Status::ok();
            }});
  auto e = tree.lookup(kBase, "trace");
  REQUIRE(e);
  CHECK(e->writable);
  CHECK(tree.write(e->ino, "start dd\n", 4242).is_ok());
  CHECK(seen == 4242);
}
