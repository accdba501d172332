// The wrapper around every FUSE operation, driven without a mount: this
// executable defines fuse_reply_err, fuse_reply_none and fuse_req_ctx
// itself, so the replies land here instead of in libfuse (the
// executable's definitions take precedence over the shared library's).
#include "fusefs/fuse/op_guard.h"

#include <catch2/catch.hpp>

#include <mutex>
#include <new>
#include <stdexcept>
#include <variant>
#include <vector>

namespace {

struct Sent {
  fuse_req_t req;
  int err;  // -1: reply_none
};
// waiting_ops_test.cpp's workers answer here while the loop's thread
// answers too: the replies are appended under a lock. The tests read
// g_sent after the workers have stopped (joined), on one thread.
std::mutex g_sent_mu;
std::vector<Sent> g_sent;

void sent(Sent s) {
  std::lock_guard lock(g_sent_mu);
  g_sent.push_back(s);
}

}  // namespace

extern "C" int fuse_reply_err(fuse_req_t req, int err) {
  sent({req, err});
  return 0;
}

extern "C" void fuse_reply_none(fuse_req_t req) { sent({req, -1}); }

// Every fake request comes from pid 4242.
extern "C" const struct fuse_ctx* fuse_req_ctx(fuse_req_t) {
  static const fuse_ctx ctx = [] {
    fuse_ctx c{};
    c.pid = 4242;
    return c;
  }();
  return &ctx;
}

namespace {

using cardfs::fuse::guard;
using cardfs::fuse::RequestScope;
namespace reply = cardfs::fuse::reply;

fuse_req_t fake_req() { return reinterpret_cast<fuse_req_t>(uintptr_t(0x1000)); }

void op_answers(fuse_req_t req, fuse_ino_t) { reply::err(req, 0); }
void op_runs_out_of_memory(fuse_req_t, fuse_ino_t) { throw std::bad_alloc(); }
void op_reads_a_result_wrongly(fuse_req_t, fuse_ino_t) {
  std::variant<int, double> v = 1.0;
  (void)std::get<int>(v);  // throws std::bad_variant_access
}
void op_throws_after_answering(fuse_req_t req, fuse_ino_t) {
  reply::err(req, 0);
  throw std::runtime_error("late");
}
void op_forgets_to_answer(fuse_req_t, fuse_ino_t) {}
pid_t g_submitter = 0;
void op_submits(fuse_req_t req, fuse_ino_t) {
  cardfs::blockdev::Bio bio;
  cardfs::blockdev::set_submitter_from_current_thread(bio);
  g_submitter = bio.pid;
  reply::err(req, 0);
}
void op_answers_twice(fuse_req_t req, fuse_ino_t) {
  reply::none(req);
  reply::none(req);
}

}  // namespace

TEST_CASE("a guarded operation that answers is passed through untouched") {
  g_sent.clear();
  const uint64_t before = RequestScope::misanswered();
  guard<op_answers>(fake_req(), 1);
  REQUIRE(g_sent.size() == 1);
  CHECK(g_sent[0].err == 0);
  CHECK(RequestScope::misanswered() == before);
  CHECK(RequestScope::current() == nullptr);
}

TEST_CASE("bad_alloc escaping an operation becomes one ENOMEM reply") {
  g_sent.clear();
  const uint64_t before = RequestScope::misanswered();
  guard<op_runs_out_of_memory>(fake_req(), 1);
  REQUIRE(g_sent.size() == 1);
  CHECK(g_sent[0].req == fake_req());
  CHECK(g_sent[0].err == ENOMEM);
  CHECK(RequestScope::misanswered() == before);
}

TEST_CASE("bad_variant_access escaping an operation becomes one EIO reply") {
  g_sent.clear();
  guard<op_reads_a_result_wrongly>(fake_req(), 1);
  REQUIRE(g_sent.size() == 1);
  CHECK(g_sent[0].err == EIO);
}

TEST_CASE("an exception after the reply sends no second one") {
  g_sent.clear();
  const uint64_t before = RequestScope::misanswered();
  guard<op_throws_after_answering>(fake_req(), 1);
  REQUIRE(g_sent.size() == 1);
  CHECK(g_sent[0].err == 0);
  CHECK(RequestScope::misanswered() == before);
}

TEST_CASE("the guard names the operation it wraps") {
  // What the log lines say: the function's own name, not the wrapper's.
  CHECK(std::string(cardfs::fuse::op_name(
            "static void cardfs::fuse::Guarded<Op>::call(fuse_req_t, A ...) [with A = {long unsigned "
            "int}; void (* Op)(fuse_req_t, A ...) = {anonymous}::op_answers]")) == "op_answers");
  CHECK(std::string(cardfs::fuse::op_name(
            "static void cardfs::fuse::Guarded<Op>::call(fuse_req_t, A ...) [with A = {long unsigned "
            "int}; void (* Op)(fuse_req_t, A ...) = cardfs::fuse::Routed<cardfs::fuse::{anonymous}::"
            "op_getattr, cardfs::fuse::control_getattr>::call]")) == "op_getattr");
}

#ifdef NDEBUG
// A debug build aborts at the first wrong count instead (assert).
TEST_CASE("a request left unanswered or answered twice is counted") {
  g_sent.clear();
  const uint64_t before = RequestScope::misanswered();
  guard<op_forgets_to_answer>(fake_req(), 1);
  CHECK(RequestScope::misanswered() == before + 1);
  guard<op_answers_twice>(fake_req(), 1);
  CHECK(RequestScope::misanswered() >= before + 2);
  CHECK(g_sent.size() == 2);
}
#endif

// Issue 20: a read, an fsync or an O_DIRECT write is the requester's in
// traces ([dd]), not the daemon's worker's.
TEST_CASE("I/O an operation submits is attributed to the requesting process") {
  guard<op_submits>(fake_req(), 1);
  CHECK(g_submitter == 4242);
  cardfs::blockdev::Bio outside;
  cardfs::blockdev::set_submitter_from_current_thread(outside);
  CHECK(outside.pid != 4242);  // the scope ended with the operation
}
