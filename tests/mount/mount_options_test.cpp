#include "fusefs/fuse/mount_options.h"

#include <catch2/catch.hpp>

using namespace cardfs::fuse;

namespace {
MountOptions parse_ok(std::vector<std::string> args) {
  auto r = parse_mount_options(args);
  INFO(r.status().to_string());
  REQUIRE(r.is_ok());
  return *r;
}
std::string parse_error(std::vector<std::string> args) {
  auto r = parse_mount_options(args);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == EINVAL);
  CHECK(r.status().message().find('\n') == std::string::npos);
  return r.status().message();
}
}  // namespace

TEST_CASE("no options keep every layer default") {
  MountOptions o = parse_ok({});
  CHECK_FALSE(o.read_only);
  CHECK_FALSE(o.allow_other);
  CHECK_FALSE(o.default_permissions);
  CHECK_FALSE(kernel_checks_permissions(o));  // the daemon checks on a private mount
  CHECK_FALSE(o.direct_io);
  CHECK_FALSE(o.sync);
  CHECK_FALSE(o.cache_size.has_value());
  CHECK_FALSE(o.dirty_ratio.has_value());
  CHECK_FALSE(o.scheduler.has_value());
  CHECK(o.trace_file.empty());
}

TEST_CASE("cardfs options set their tunables") {
  MountOptions o = parse_ok({"cache_size=64M,dirty_ratio=30,dirty_background_ratio=5",
                             "dirty_expire_centisecs=100,dirty_writeback_centisecs=50",
                             "read_ahead_kb=512,scheduler=none,nomerges=2,max_sectors_kb=128",
                             "realtime,durable,trace=/tmp/t.blktrace,direct_io,sync"});
  CHECK(*o.cache_size == 64ull << 20);
  CHECK(*o.dirty_ratio == 30);
  CHECK(*o.dirty_background_ratio == 5);
  CHECK(*o.dirty_expire_centisecs == 100);
  CHECK(*o.dirty_writeback_centisecs == 50);
  CHECK(*o.read_ahead_kb == 512);
  CHECK(*o.scheduler == Scheduler::kNone);
  CHECK(*o.nomerges == 2);
  CHECK(*o.max_sectors_kb == 128);
  CHECK(o.realtime);
  CHECK(o.durable);
  CHECK(o.trace_file == "/tmp/t.blktrace");
  CHECK(o.direct_io);
  CHECK(o.sync);
}

TEST_CASE("kernel_read_ahead_kb is unset by default and bounded") {
  CHECK_FALSE(parse_ok({}).kernel_read_ahead_kb.has_value());
  CHECK(*parse_ok({"kernel_read_ahead_kb=4096"}).kernel_read_ahead_kb == 4096);
  CHECK(*parse_ok({"kernel_read_ahead_kb=0"}).kernel_read_ahead_kb == 0);
  CHECK(parse_error({"kernel_read_ahead_kb=70000"}).find("kernel_read_ahead_kb") != std::string::npos);
}

TEST_CASE("threads: one FUSE worker unless asked, bounded") {
  CHECK_FALSE(parse_ok({}).threads.has_value());
  CHECK(*parse_ok({"threads=8"}).threads == 8);
  CHECK(parse_error({"threads=0"}).find("threads") != std::string::npos);
  CHECK(parse_error({"threads=65"}).find("threads") != std::string::npos);
}

TEST_CASE("FUSE options and VFS flags") {
  MountOptions o = parse_ok({"ro,allow_other,default_permissions,fsname=my\\,card,nodev,noatime"});
  CHECK(o.read_only);
  CHECK(o.allow_other);
  CHECK(o.fsname == "my,card");
  CHECK(o.vfs_flags == std::vector<std::string>{"nodev", "noatime"});
  CHECK(kernel_mount_options(o, "/img") ==
        "fsname=my\\,card,subtype=cardfs,default_permissions,allow_other,ro,nodev,noatime");
  CHECK(kernel_mount_options(parse_ok({}), "/a,b") == "fsname=/a\\,b,subtype=cardfs");
  // allow_other alone brings the kernel's checks; so does asking for them.
  CHECK(kernel_mount_options(parse_ok({"allow_other"}), "/i") ==
        "fsname=/i,subtype=cardfs,default_permissions,allow_other");
  CHECK(kernel_mount_options(parse_ok({"default_permissions"}), "/i") ==
        "fsname=/i,subtype=cardfs,default_permissions");
}

TEST_CASE("later options win, as mount(8) does") {
  MountOptions o = parse_ok({"ro,dirty_ratio=30", "rw,dirty_ratio=40"});
  CHECK_FALSE(o.read_only);
  CHECK(*o.dirty_ratio == 40);
  CHECK(*parse_ok({"scheduler=none,scheduler=mq-deadline"}).scheduler == Scheduler::kMqDeadline);
}

TEST_CASE("fstab and mount(8) bookkeeping options are accepted and ignored") {
  MountOptions o = parse_ok({"defaults,noauto,nofail,user,_netdev,x-systemd.automount,,"});
  CHECK_FALSE(o.read_only);
  CHECK(o.vfs_flags.empty());
}

TEST_CASE("unknown and malformed options are one-line errors naming the option") {
  CHECK(parse_error({"bogus"}).find("bogus") != std::string::npos);
  CHECK(parse_error({"ro,frobnicate=3"}).find("frobnicate") != std::string::npos);
  CHECK(parse_error({"cache_size=lots"}).find("cache_size") != std::string::npos);
  CHECK(parse_error({"cache_size="}).find("cache_size") != std::string::npos);
  CHECK(parse_error({"cache_size"}).find("needs a value") != std::string::npos);
  CHECK(parse_error({"cache_size=512K"}).find("minimum") != std::string::npos);
  // Issue 15: more than the machine's memory was accepted silently.
  CHECK(parse_error({"cache_size=64T"}).find("more than this machine's memory") != std::string::npos);
  CHECK(parse_error({"dirty_ratio=101"}).find("out of range") != std::string::npos);
  CHECK(parse_error({"dirty_ratio=-1"}).find("dirty_ratio") != std::string::npos);
  CHECK(parse_error({"dirty_ratio=1x"}).find("dirty_ratio") != std::string::npos);
  CHECK(parse_error({"nomerges=3"}).find("nomerges") != std::string::npos);
  CHECK(parse_error({"max_sectors_kb=2"}).find("max_sectors_kb") != std::string::npos);
  CHECK(parse_error({"scheduler=cfq"}).find("cfq") != std::string::npos);
  CHECK(parse_error({"ro=1"}).find("takes no value") != std::string::npos);
  CHECK(parse_error({"nodev=yes"}).find("nodev") != std::string::npos);
  CHECK(parse_error({"trace"}).find("trace") != std::string::npos);
  CHECK(parse_error({"dirty_ratio=10,dirty_background_ratio=10"}).find("below") !=
        std::string::npos);
}

TEST_CASE("profile= is refused: the profile belongs to the image") {
  CHECK(parse_error({"profile=class4"}).find("belongs to the image") != std::string::npos);
}

TEST_CASE("cache_size reads the shared size grammar: 64MiB as mkfs --size does") {
  CHECK(*parse_ok({"cache_size=64MiB"}).cache_size == 64ull << 20);
  CHECK(*parse_ok({"cache_size=64m"}).cache_size == 64ull << 20);
  CHECK(*parse_ok({"cache_size=100MB"}).cache_size == 100000000);
  CHECK(parse_error({"cache_size=-64M"}).find("negative") != std::string::npos);
}

TEST_CASE("xattrs are on unless noxattr") {
  CHECK(parse_ok({}).xattr);
  CHECK_FALSE(parse_ok({"noxattr"}).xattr);
  CHECK(parse_ok({"noxattr,xattr"}).xattr);
}

TEST_CASE("a tunables file overlays the mount's tunables and nothing else") {
  MountOptions base = parse_ok({"ro,dirty_ratio=30,read_ahead_kb=128,tunables=/etc/t"});
  CHECK(base.tunables_file == "/etc/t");
  auto o = overlay_tunables("# comment\n  dirty_ratio=20  # the cache\n\nscheduler=none,nomerges=1\r\n",
                            base);
  INFO(o.status().to_string());
  REQUIRE(o.is_ok());
  CHECK(*o->dirty_ratio == 20);
  CHECK(*o->read_ahead_kb == 128);  // not in the file: as mounted
  CHECK(*o->scheduler == Scheduler::kNone);
  CHECK(*o->nomerges == 1);
  CHECK(o->read_only);  // not a tunable: untouched
  CHECK(overlay_tunables("", base)->dirty_ratio == 30);
}

TEST_CASE("a tunables file with anything but tunables, or a bad value, is refused") {
  MountOptions base = parse_ok({"dirty_ratio=30"});
  for (const char* text : {"allow_other\n", "ro\n", "dirty_ratio=500\n", "scheduler=cfq\n",
                           "tunables=/x\n", "dirty_background_ratio=40\n", "bogus=1\n"}) {
    INFO(text);
    auto o = overlay_tunables(text, base);
    REQUIRE_FALSE(o.is_ok());
    CHECK(o.status().code() == EINVAL);
  }
}
