#include "fusefs/fuse/daemon.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace cardfs::fuse {
namespace {

// A report's wire form on the pipe: "0\n" for ready, "1 message" for fail.
class PipeReport final : public StartupReport {
 public:
  explicit PipeReport(int fd) : fd_(fd) {}
  void ready() override {
    send("0\n");
    detach_stdio();
  }
  void fail(const Status& st) override { send("1 " + st.message()); }
  bool reported() const override { return fd_ < 0; }

 private:
  void send(const std::string& msg) {
    if (fd_ < 0) return;
    ssize_t n [[maybe_unused]] = ::write(fd_, msg.data(), msg.size());
    ::close(fd_);
    fd_ = -1;
  }
  static void detach_stdio() {
    int null = ::open("/dev/null", O_RDWR);
    if (null < 0) return;
    for (int fd = 0; fd <= 2; ++fd) ::dup2(null, fd);
    if (null > 2) ::close(null);
  }
  int fd_;
};

class ForegroundReport final : public StartupReport {
 public:
  explicit ForegroundReport(const std::string& who) : who_(who) {}
  void ready() override { done_ = true; }
  void fail(const Status& st) override {
    if (done_) return;
    done_ = true;
    std::fprintf(stderr, "%s: %s\n", who_.c_str(), st.message().c_str());
  }
  bool reported() const override { return done_; }

 private:
  const std::string& who_;
  bool done_ = false;
};

// The parent's side: waits for the child's report.
int wait_for_report(int fd, pid_t child, const char* who) {
  std::string msg;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    msg.append(buf, size_t(n));
  }
  ::close(fd);
  if (msg.rfind("0", 0) == 0) return 0;
  int status = 0;
  ::waitpid(child, &status, 0);
  if (msg.rfind("1 ", 0) == 0) {
    std::fprintf(stderr, "%s: %s\n", who, msg.c_str() + 2);
  } else {
    std::fprintf(stderr, "%s: the daemon exited before mounting (status %d)\n", who, status);
  }
  return 1;
}

}  // namespace

int run_daemon(bool foreground, const std::function<int(StartupReport&)>& body,
               const std::string& who) {
  if (foreground) {
    ForegroundReport report(who);
    int rc = body(report);
    if (!report.reported() && rc != 0) report.fail(Status::error(EIO, "mount failed"));
    return rc;
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    std::fprintf(stderr, "%s: pipe: %s\n", who.c_str(), std::strerror(errno));
    return 1;
  }
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    std::fprintf(stderr, "%s: fork: %s\n", who.c_str(), std::strerror(errno));
    return 1;
  }
  if (pid > 0) {
    ::close(fds[1]);
    return wait_for_report(fds[0], pid, who.c_str());
  }
  ::close(fds[0]);
  ::setsid();
  if (::chdir("/") != 0) { /* "/" always exists; nothing else to try */ }
  PipeReport report(fds[1]);
  int rc = body(report);
  if (!report.reported()) report.fail(Status::error(EIO, "mount failed"));
  return rc;
}

}  // namespace cardfs::fuse
