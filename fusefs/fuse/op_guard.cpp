#include "fusefs/fuse/op_guard.h"

#include <atomic>
#include <cassert>
#include <new>
#include <string>
#include <string_view>
#include <typeinfo>

#include "base/log.h"

namespace cardfs::fuse {

namespace {

thread_local RequestScope* t_current = nullptr;
std::atomic<uint64_t> g_misanswered{0};

void report_misanswered(std::string_view op, int replies) {
  g_misanswered.fetch_add(1, std::memory_order_relaxed);
  cardfs::logger("fuse")->error("{}: request answered {} times, not once", op, replies);
  assert(false && "a FUSE request must be answered exactly once");
}

}  // namespace

std::string_view op_name(const char* pretty) {
  // "... [with A = {…}; void (* Op)(fuse_req_t, A ...) = cardfs::fuse::{anonymous}::op_read]"
  std::string_view p(pretty);
  size_t at = p.rfind(" = ");
  if (at == std::string_view::npos) return p;
  std::string_view name = p.substr(at + 3);
  name = name.substr(0, name.find_first_of(";]"));
  // Routed<op_x, control_x>::call: the filesystem's operation names it.
  if (size_t open = name.find('<'); open != std::string_view::npos && name.ends_with("::call"))
    name = name.substr(open + 1, name.find(',', open) - open - 1);
  if (size_t colon = name.rfind("::"); colon != std::string_view::npos) name.remove_prefix(colon + 2);
  return name;
}

RequestScope::RequestScope(fuse_req_t req, std::string_view op)
    : req_(req), op_(op), requester_(fuse_req_ctx(req)->pid), outer_(t_current) {
  t_current = this;
}

RequestScope::~RequestScope() {
  t_current = outer_;
  if (replies_ != 1) report_misanswered(op_, replies_);
}

RequestScope* RequestScope::current() { return t_current; }

void RequestScope::note_reply(fuse_req_t req) {
  RequestScope* s = t_current;
  // Replies outside a guarded callback (tests driving a helper directly)
  // have no scope to count in.
  if (!s || s->req_ != req) return;
  if (++s->replies_ > 1) report_misanswered(s->op_, s->replies_);
}

void RequestScope::fail(std::exception_ptr e) {
  int err = EIO;
  std::string what = "unknown exception";
  try {
    std::rethrow_exception(e);
  } catch (const std::bad_alloc& ex) {
    err = ENOMEM;
    what = ex.what();
  } catch (const std::exception& ex) {
    what = std::string(typeid(ex).name()) + ": " + ex.what();
  } catch (...) {
  }
  cardfs::logger("fuse")->error("{}: {} escaped the operation{}", op_, what,
                                replies_ ? "" : "; answering " + std::to_string(err));
  if (replies_ == 0) reply::err(req_, err);
}

uint64_t RequestScope::misanswered() { return g_misanswered.load(std::memory_order_relaxed); }

namespace reply {

int err(fuse_req_t req, int e) {
  RequestScope::note_reply(req);
  return fuse_reply_err(req, e);
}
void none(fuse_req_t req) {
  RequestScope::note_reply(req);
  fuse_reply_none(req);
}
int entry(fuse_req_t req, const fuse_entry_param* e) {
  RequestScope::note_reply(req);
  return fuse_reply_entry(req, e);
}
int create(fuse_req_t req, const fuse_entry_param* e, const fuse_file_info* fi) {
  RequestScope::note_reply(req);
  return fuse_reply_create(req, e, fi);
}
int attr(fuse_req_t req, const struct stat* a, double timeout) {
  RequestScope::note_reply(req);
  return fuse_reply_attr(req, a, timeout);
}
int readlink(fuse_req_t req, const char* link) {
  RequestScope::note_reply(req);
  return fuse_reply_readlink(req, link);
}
int open(fuse_req_t req, const fuse_file_info* fi) {
  RequestScope::note_reply(req);
  return fuse_reply_open(req, fi);
}
int write(fuse_req_t req, size_t count) {
  RequestScope::note_reply(req);
  return fuse_reply_write(req, count);
}
int buf(fuse_req_t req, const char* b, size_t size) {
  RequestScope::note_reply(req);
  return fuse_reply_buf(req, b, size);
}
int iov(fuse_req_t req, const struct iovec* v, int count) {
  RequestScope::note_reply(req);
  return fuse_reply_iov(req, v, count);
}
int statfs(fuse_req_t req, const struct statvfs* st) {
  RequestScope::note_reply(req);
  return fuse_reply_statfs(req, st);
}
int xattr(fuse_req_t req, size_t count) {
  RequestScope::note_reply(req);
  return fuse_reply_xattr(req, count);
}
int lseek(fuse_req_t req, off_t off) {
  RequestScope::note_reply(req);
  return fuse_reply_lseek(req, off);
}

}  // namespace reply
}  // namespace cardfs::fuse
