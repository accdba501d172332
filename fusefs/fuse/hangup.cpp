#include "fusefs/fuse/hangup.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace cardfs::fuse {
namespace {

// The signal handler can reach only globals: the write end of the pipe.
std::atomic<int> g_hangup_fd{-1};
constexpr char kHangup = 'h', kStop = 's';

void on_sighup(int) {
  const int saved = errno;  // write() may change it under the interrupted code
  const int fd = g_hangup_fd.load();
  if (fd >= 0) (void)!write(fd, &kHangup, 1);  // a full pipe already holds a wake-up
  errno = saved;
}

Status set_handler(void (*handler)(int)) {
  struct sigaction sa {};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  if (sigaction(SIGHUP, &sa, nullptr) != 0) return Status::error(errno, "sigaction(SIGHUP)");
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<HangupHandler>> HangupHandler::install(std::function<void()> on_hangup) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::error(errno, "pipe2");
  (void)fcntl(fds[1], F_SETFL, O_NONBLOCK);
  std::unique_ptr<HangupHandler> h(new HangupHandler(fds[0], fds[1], std::move(on_hangup)));
  g_hangup_fd = fds[1];
  CARDFS_RETURN_IF_ERROR(set_handler(on_sighup));
  return h;
}

HangupHandler::HangupHandler(int read_fd, int write_fd, std::function<void()> on_hangup)
    : read_fd_(read_fd), write_fd_(write_fd), on_hangup_(std::move(on_hangup)) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "sighup");
    run();
  });
}

HangupHandler::~HangupHandler() {
  (void)set_handler(SIG_IGN);
  g_hangup_fd = -1;
  // Blocking, unlike the handler's write: the stop byte must get through.
  (void)fcntl(write_fd_, F_SETFL, 0);
  (void)!write(write_fd_, &kStop, 1);
  thread_.join();
  close(read_fd_);
  close(write_fd_);
}

void HangupHandler::run() {
  char buf[64];
  for (;;) {
    ssize_t n = read(read_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    bool hangup = false;
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] == kStop) return;
      hangup |= buf[i] == kHangup;
    }
    if (hangup) on_hangup_();
  }
}

}  // namespace cardfs::fuse
