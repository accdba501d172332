#include "fusefs/fuse/image_lock.h"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>

using namespace cardfs::fuse;

namespace {
std::string temp_image() {
  char tmpl[] = "/tmp/cardfs_lock_XXXXXX";
  int fd = mkstemp(tmpl);
  REQUIRE(fd >= 0);
  close(fd);
  return tmpl;
}
}  // namespace

TEST_CASE("a second lock on a mounted image fails at once with EBUSY") {
  std::string path = temp_image();
  {
    auto first = ImageLock::take(path);
    REQUIRE(first.is_ok());
    auto second = ImageLock::take(path);
    REQUIRE_FALSE(second.is_ok());
    CHECK(second.status().code() == EBUSY);
    CHECK(second.status().message().find("is in use") != std::string::npos);
  }
  CHECK(ImageLock::take(path).is_ok());  // released with the first
  std::remove(path.c_str());
}

TEST_CASE("the lock holds against another process and dies with it") {
  std::string path = temp_image();
  int to_child[2], from_child[2];
  REQUIRE(pipe(to_child) == 0);
  REQUIRE(pipe(from_child) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto lock = ImageLock::take(path);
    char c = lock.is_ok() ? 'y' : 'n';
    if (write(from_child[1], &c, 1) != 1) _exit(2);
    if (read(to_child[0], &c, 1) != 1) _exit(3);  // held until the parent says so
    _exit(0);
  }
  char c = 0;
  REQUIRE(read(from_child[0], &c, 1) == 1);
  REQUIRE(c == 'y');
  auto busy = ImageLock::take(path);
  CHECK(busy.status().code() == EBUSY);
  kill(pid, SIGKILL);  // as kill -9 of a daemon
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(ImageLock::take(path).is_ok());
  for (int fd : {to_child[0], to_child[1], from_child[0], from_child[1]}) close(fd);
  std::remove(path.c_str());
}

TEST_CASE("a missing image is ENOENT, not EBUSY") {
  auto r = ImageLock::take("/nonexistent/cardfs.img");
  CHECK(r.status().code() == ENOENT);
}
