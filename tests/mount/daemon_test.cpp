#include "fusefs/fuse/daemon.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

using namespace cardfs;
using namespace cardfs::fuse;

namespace {
struct Outcome {
  int exit_code;
  std::string err;
};

// Runs run_daemon(false, body) in a throwaway process standing for
// `cardfs mount`, whose stderr we capture; returns what its user would see.
Outcome run_as_mount(const std::function<int(StartupReport&)>& body) {
  int err_pipe[2];
  REQUIRE(pipe(err_pipe) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(err_pipe[1], 2);
    close(err_pipe[0]);
    close(err_pipe[1]);
    _exit(run_daemon(false, body));  // both the parent's and the child's exit
  }
  close(err_pipe[1]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  std::string err;
  char buf[256];
  ssize_t n;
  // The detached child closes its copy of stderr when it reports ready,
  // so this read ends once both are done with it.
  while ((n = read(err_pipe[0], buf, sizeof buf)) > 0) err.append(buf, size_t(n));
  close(err_pipe[0]);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, err};
}
}  // namespace

TEST_CASE("a daemon that mounts lets its parent exit 0 and keeps running detached") {
  int done[2];
  REQUIRE(pipe(done) == 0);
  Outcome o = run_as_mount([&](StartupReport& r) {
    r.ready();
    // Detached now: prove we outlive the parent, with a new session.
    char c = getsid(0) == getpid() ? 's' : 'x';
    if (write(done[1], &c, 1) != 1) return 3;
    return 0;
  });
  CHECK(o.exit_code == 0);
  CHECK(o.err.empty());
  close(done[1]);
  char c = 0;
  CHECK(read(done[0], &c, 1) == 1);
  CHECK(c == 's');
  close(done[0]);
}

TEST_CASE("a mount error reaches the user before the daemon detaches, exit 1") {
  Outcome o = run_as_mount([](StartupReport& r) {
    r.fail(Status::error(ENOTDIR, "/tmp/x is not a directory"));
    return 1;
  });
  CHECK(o.exit_code == 1);
  CHECK(o.err == "cardfs mount: /tmp/x is not a directory\n");
}

TEST_CASE("a daemon that dies before reporting is a mount failure") {
  Outcome o = run_as_mount([](StartupReport&) -> int { _exit(9); });
  CHECK(o.exit_code == 1);
  CHECK(o.err.find("exited before mounting") != std::string::npos);
}
