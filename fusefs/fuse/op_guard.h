// The one wrapper around every libfuse low-level callback.
//
// libfuse calls our operations from C frames: an exception that escapes
// one (std::bad_alloc from a buffer, bad_variant_access from a Result read
// wrongly) would unwind through them, which is undefined behaviour, and
// leave the kernel waiting for a reply that never comes. So each callback
// in an operations table is `guard<op_x>`: it runs op_x inside a
// RequestScope which
// - counts the replies op_x sends (every reply goes through reply::…,
//   below, never fuse_reply_* directly);
// - turns an escaped exception into an error reply (ENOMEM for
//   std::bad_alloc, EIO otherwise) when op_x had not answered yet, and logs
//   it either way;
// - checks that the request was answered exactly once: a miss or a second
//   answer is logged and counted (misanswered()), and aborts a debug build.
// It is also the place that knows which request a worker is serving, for
// whatever wants to attribute work to it (fuse_req_ctx: uid, gid, pid):
// the I/O the operation submits is the requester's in traces (a
// blockdev::RequesterScope, as the kernel runs a read, an fsync or an
// O_DIRECT write in its caller's context).
//
// Thread-safety: a scope belongs to the worker thread running the request;
// a reply must be sent from that thread before the callback returns (no
// operation replies asynchronously).
#pragma once

#include <string_view>

#include "fusefs/fuse/session.h"  // FUSE_USE_VERSION, fuse_lowlevel.h

#include "blockdev/bio.h"

#include <sys/uio.h>

#include <cstdint>
#include <exception>

namespace cardfs::fuse {

class RequestScope {
 public:
  RequestScope(fuse_req_t req, std::string_view op);
  ~RequestScope();
  RequestScope(const RequestScope&) = delete;
  RequestScope& operator=(const RequestScope&) = delete;

  // The scope of the request this thread is serving, or nullptr.
  static RequestScope* current();
  // Called by each reply:: function before it hands req to libfuse.
  static void note_reply(fuse_req_t req);
  // Answers an exception that escaped the operation.
  void fail(std::exception_ptr e);

  // Requests answered zero or several times since the process started.
  static uint64_t misanswered();

 private:
  fuse_req_t req_;
  std::string_view op_;
  blockdev::RequesterScope requester_;
  int replies_ = 0;
  RequestScope* outer_;
};

// Every reply an operation sends; each consumes the request, as libfuse's.
namespace reply {
int err(fuse_req_t req, int err);
void none(fuse_req_t req);
int entry(fuse_req_t req, const fuse_entry_param* e);
int create(fuse_req_t req, const fuse_entry_param* e, const fuse_file_info* fi);
int attr(fuse_req_t req, const struct stat* attr, double attr_timeout);
int readlink(fuse_req_t req, const char* link);
int open(fuse_req_t req, const fuse_file_info* fi);
int write(fuse_req_t req, size_t count);
int buf(fuse_req_t req, const char* buf, size_t size);
int iov(fuse_req_t req, const struct iovec* iov, int count);
int statfs(fuse_req_t req, const struct statvfs* stbuf);
int xattr(fuse_req_t req, size_t count);
int lseek(fuse_req_t req, off_t off);
}  // namespace reply

// "op_read" out of a Guarded<op_read>::call's __PRETTY_FUNCTION__: a view
// into that text, which lives as long as the program (nothing allocated).
std::string_view op_name(const char* pretty_function);

template <auto Op>
struct Guarded;

template <typename... A, void (*Op)(fuse_req_t, A...)>
struct Guarded<Op> {
  static void call(fuse_req_t req, A... args) {
    static const std::string_view name = op_name(__PRETTY_FUNCTION__);
    RequestScope scope(req, name);
    try {
      Op(req, args...);
    } catch (...) {
      scope.fail(std::current_exception());
    }
  }
};

// The callback to put in a fuse_lowlevel_ops table for op.
template <auto Op>
inline constexpr auto guard = &Guarded<Op>::call;

}  // namespace cardfs::fuse
