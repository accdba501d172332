// A control file's READ, driven without a mount: this executable defines
// fuse_reply_buf itself (op_guard_test.cpp defines the other replies), so
// the reply lands here and can let a RELEASE of the handle run on another
// thread in the middle of it, as the kernel lets one run as soon as it
// has the bytes (an aio read whose completion drops the file's last
// reference), before the replying worker is back from reply::buf.
#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <thread>

#include "fusefs/fuse/fuse_fs.h"

namespace {

std::function<void()> g_during_reply;  // runs inside fuse_reply_buf
std::string g_replied;

}  // namespace

extern "C" int fuse_reply_buf(fuse_req_t, const char* buf, size_t size) {
  if (g_during_reply) g_during_reply();
  g_replied.assign(buf, size);
  return 0;
}

using cardfs::fuse::OpenFile;

TEST_CASE("a control read's reply outlives a RELEASE of its handle during the reply") {
  // Longer than std::string's inline buffer: the snapshot lives on the heap,
  // where a freed block's first bytes are overwritten by the allocator.
  std::string text;
  for (int i = 0; i < 20; ++i) text += "card.commands " + std::to_string(i) + "\n";
  auto* of = new OpenFile;
  of->control_data = std::make_shared<const std::string>(text);
  fuse_file_info fi{};
  fi.fh = reinterpret_cast<uintptr_t>(of);
  // What op_release does to the handle, on another worker.
  g_during_reply = [&] { std::thread([&] { delete cardfs::fuse::open_file(&fi); }).join(); };
  auto req = reinterpret_cast<fuse_req_t>(uintptr_t(0x2000));
  cardfs::fuse::control_read(req, 1, 4096, 7, &fi);
  g_during_reply = nullptr;
  CHECK(g_replied == text.substr(7));
}
