// guard_waiting<op, When>: the one-thread loop's hand-off of requests that
// would sleep, driven without a mount (the replies land in
// op_guard_test.cpp's fuse_reply_err). What runs where, and that what a
// worker gets outlives libfuse's buffers.
#include "fusefs/fuse/waiting_ops.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using cardfs::fuse::guard_waiting;
using cardfs::fuse::guard_waiting_write;
namespace waiting_ops = cardfs::fuse::waiting_ops;
namespace reply = cardfs::fuse::reply;

struct Seen {
  std::thread::id thread;
  std::string name;
  uint64_t fh = 0;
  off_t size = 0;
  std::string data;
  bool aligned = false;
};
std::mutex g_mu;
std::vector<Seen> g_seen;

fuse_req_t fake_req() { return reinterpret_cast<fuse_req_t>(uintptr_t(0x2000)); }

void record(Seen s) {
  std::lock_guard lock(g_mu);
  g_seen.push_back(std::move(s));
}

void op_named(fuse_req_t req, fuse_ino_t, const char* name, fuse_file_info* fi) {
  Seen s;
  s.thread = std::this_thread::get_id();
  s.name = name;
  s.fh = fi ? fi->fh : 0;
  record(std::move(s));
  reply::err(req, 0);
}
void op_setattr_like(fuse_req_t req, fuse_ino_t, struct stat* attr, int, fuse_file_info*) {
  Seen s;
  s.thread = std::this_thread::get_id();
  s.size = attr->st_size;
  record(std::move(s));
  reply::err(req, 0);
}
void op_write_like(fuse_req_t req, fuse_ino_t, const char* buf, size_t size, off_t,
                   fuse_file_info* fi) {
  record({std::this_thread::get_id(), "", fi->fh, 0, std::string(buf, size),
          reinterpret_cast<uintptr_t>(buf) % 4096 == 0});
  reply::err(req, 0);
}

// When: the name says whether the request waits.
struct NameSaysWait {
  static bool test(fuse_req_t, fuse_ino_t, const char* name, fuse_file_info*) {
    return std::strcmp(name, "slow") == 0;
  }
};
struct Never {
  template <typename... A>
  static bool test(fuse_req_t, A...) {
    return false;
  }
};

std::vector<Seen> take_seen() {
  std::lock_guard lock(g_mu);
  return std::exchange(g_seen, {});
}

}  // namespace

TEST_CASE("outside the one-thread loop a waiting op runs on the caller's thread", "[fuse][waiting]") {
  take_seen();
  fuse_file_info fi{};
  fi.fh = 7;
  guard_waiting<op_named>(fake_req(), 1, "slow", &fi);
  auto seen = take_seen();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].thread == std::this_thread::get_id());
  CHECK(waiting_ops::serving() == false);
}

TEST_CASE("while the loop serves, When decides per request what goes to a worker", "[fuse][waiting]") {
  take_seen();
  waiting_ops::start(1);
  const uint64_t handed_before = waiting_ops::handed_off();
  char name[8];
  fuse_file_info fi{};
  // libfuse's buffers: reused for the next request as soon as the callback returns.
  std::strcpy(name, "slow");
  fi.fh = 11;
  guard_waiting<op_named, NameSaysWait>(fake_req(), 1, name, &fi);
  std::strcpy(name, "XXXX");
  fi.fh = 99;
  std::strcpy(name, "fast");
  fi.fh = 12;
  guard_waiting<op_named, NameSaysWait>(fake_req(), 1, name, &fi);
  struct stat st {};
  st.st_size = 4096;
  guard_waiting<op_setattr_like>(fake_req(), 1, &st, 0, nullptr);
  st.st_size = 1;
  guard_waiting<op_setattr_like, Never>(fake_req(), 1, &st, 0, nullptr);
  waiting_ops::stop();  // answers what it holds first
  CHECK(waiting_ops::handed_off() - handed_before == 2);

  auto seen = take_seen();
  REQUIRE(seen.size() == 4);
  const auto self = std::this_thread::get_id();
  int on_loop = 0;
  for (const Seen& s : seen) {
    if (s.thread == self) {
      ++on_loop;
      CHECK((s.name == "fast" || s.size == 1));
    } else if (s.name == "slow") {
      CHECK(s.fh == 11);  // its own copies, not what the buffers hold now
    } else {
      CHECK(s.size == 4096);
    }
  }
  CHECK(on_loop == 2);
}

TEST_CASE("a handed-off write gets its own page-aligned copy of the data", "[fuse][waiting]") {
  take_seen();
  waiting_ops::start(2);
  std::vector<char> buf(10000, 'a');
  fuse_file_info fi{};
  fi.fh = 5;
  struct Always {
    static bool test(fuse_req_t, fuse_ino_t, const char*, size_t, off_t, fuse_file_info*) {
      return true;
    }
  };
  guard_waiting_write<op_write_like, Always>(fake_req(), 1, buf.data() + 1, 9000, 0, &fi);
  std::fill(buf.begin(), buf.end(), 'b');
  fi.fh = 0;
  waiting_ops::stop();
  auto seen = take_seen();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].thread != std::this_thread::get_id());
  CHECK(seen[0].data == std::string(9000, 'a'));
  CHECK(seen[0].fh == 5);
  CHECK(seen[0].aligned);
}

TEST_CASE("stop() answers every queued request before the workers end", "[fuse][waiting]") {
  take_seen();
  waiting_ops::start(1);
  fuse_file_info fi{};
  for (int i = 0; i < 20; ++i) guard_waiting<op_named>(fake_req(), 1, "slow", &fi);
  waiting_ops::stop();
  CHECK(take_seen().size() == 20);
  CHECK_FALSE(waiting_ops::serving());
}
