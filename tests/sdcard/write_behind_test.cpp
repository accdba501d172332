// The image file's write-behind (sdcard/write_behind.h): queued small
// writes reach the file in order, a read sees every write made before it,
// a failure is reported once, and nothing queued is lost at close.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <vector>

#include "sdcard/image_file.h"
#include "sdcard/write_behind.h"
#include "tests/sdcard/card_fixture.h"

namespace cardfs::sdcard {
namespace {

constexpr uint64_t kImageBytes = 4 << 20;

std::unique_ptr<ImageFile> make_image(const testing::ScratchDir& dir) {
  auto f = ImageFile::open(dir.path("image"), OpenMode::kCreate);
  REQUIRE(f.is_ok());
  REQUIRE((*f)->set_size(kImageBytes).is_ok());
  return std::move(*f);
}

std::vector<std::byte> file_bytes(const std::string& path) {
  std::vector<std::byte> out(kImageBytes);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(::pread(fd, out.data(), out.size(), 0) == ssize_t(out.size()));
  ::close(fd);
  return out;
}

TEST_CASE("reads through the image see every write made before them, in order", "[sdcard][write_behind]") {
  testing::ScratchDir dir("write-behind-order");
  auto f = make_image(dir);
  std::vector<std::byte> model(kImageBytes);
  std::mt19937 rng(11);
  std::vector<std::byte> got;
  // Writes of a few bytes to 8 KiB, many over the same places, each read
  // back at once (often before the writer got to it), or a neighbouring
  // range read, or several ops in one batch.
  for (int i = 0; i < 4000; ++i) {
    const uint64_t len = 1 + rng() % 8192;
    const uint64_t offset = (rng() % 64) * 4096 + rng() % 4096;
    std::vector<std::byte> data(len);
    for (auto& b : data) b = std::byte(rng());
    if (rng() % 4 == 0) {
      // Two ops in one batch, the second over part of the first.
      const uint64_t len2 = 1 + rng() % len;
      std::vector<std::byte> data2(len2, std::byte(i));
      iovec v[2] = {{data.data(), len}, {data2.data(), len2}};
      IoOp ops[2] = {{offset, std::span<const iovec>(&v[0], 1)}, {offset, std::span<const iovec>(&v[1], 1)}};
      REQUIRE(f->write(ops).is_ok());
      std::memcpy(model.data() + offset, data.data(), len);
      std::memcpy(model.data() + offset, data2.data(), len2);
    } else {
      REQUIRE(f->write_at(offset, data).is_ok());
      std::memcpy(model.data() + offset, data.data(), len);
    }
    const uint64_t read_at = rng() % 2 ? offset : offset + len / 2;
    const uint64_t read_len = std::min<uint64_t>(1 + rng() % 8192, kImageBytes - read_at);
    got.assign(read_len, std::byte{0});
    REQUIRE(f->read_at(read_at, got).is_ok());
    REQUIRE(std::memcmp(got.data(), model.data() + read_at, read_len) == 0);
  }
  REQUIRE(f->sync().is_ok());
  CHECK(file_bytes(dir.path("image")) == model);
}

TEST_CASE("what is queued reaches the file when the image is closed", "[sdcard][write_behind]") {
  testing::ScratchDir dir("write-behind-close");
  std::vector<std::byte> model(kImageBytes);
  {
    auto f = make_image(dir);
    // More than the queue holds: a writer past kMaxQueuedBytes waits.
    const uint64_t chunk = 64 * 1024;
    for (uint64_t done = 0; done < 3 * WriteBehind::kMaxQueuedBytes; done += chunk) {
      const uint64_t offset = done % kImageBytes;
      std::vector<std::byte> data(chunk, std::byte(done / chunk));
      REQUIRE(f->write_at(offset, data).is_ok());
      std::memcpy(model.data() + offset, data.data(), chunk);
    }
  }
  CHECK(file_bytes(dir.path("image")) == model);
}

TEST_CASE("a queued preallocation allocates without changing the size or the bytes", "[sdcard][write_behind]") {
  testing::ScratchDir dir("write-behind-alloc");
  auto f = make_image(dir);
  REQUIRE(f->preallocate(1 << 20, 1 << 20).is_ok());
  REQUIRE(f->sync().is_ok());
  struct stat st;
  REQUIRE(::stat(dir.path("image").c_str(), &st) == 0);
  CHECK(uint64_t(st.st_size) == kImageBytes);
  // (A host file system without fallocate allocates nothing; no failure.)
  if (st.st_blocks > 0) CHECK(uint64_t(st.st_blocks) * 512 >= (1 << 20));
  CHECK(file_bytes(dir.path("image")) == std::vector<std::byte>(kImageBytes));
}

TEST_CASE("a failed queued write or allocation is reported once, by the next call that waits, naming the offset",
          "[sdcard][write_behind]") {
  testing::ScratchDir dir("write-behind-error");
  { auto f = make_image(dir); }
  const int fd = ::open(dir.path("image").c_str(), O_RDONLY | O_CLOEXEC);  // writes fail: EBADF
  REQUIRE(fd >= 0);
  {
    WriteBehind w(fd, "test image");
    std::vector<std::byte> data(100, std::byte{7});
    iovec v{data.data(), data.size()};
    const IoOp op{12345, std::span<const iovec>(&v, 1)};
    REQUIRE(w.write(std::span(&op, 1)).is_ok());  // queued
    Status st = w.drain();
    REQUIRE(!st.is_ok());
    CHECK(st.code() == EIO);
    CHECK_THAT(st.message(), Catch::Contains("write of test image at 12345"));
    CHECK(w.drain().is_ok());  // reported once
    CHECK(w.written() == 1);
    // A queued allocation that fails: the same, naming the range's start.
    REQUIRE(w.preallocate(1 << 20, 4096).is_ok());
    st = w.drain();
    REQUIRE(!st.is_ok());
    CHECK(st.code() == EIO);
    CHECK_THAT(st.message(), Catch::Contains("allocating space in test image at 1048576"));
    CHECK(w.drain().is_ok());
  }
  ::close(fd);
}

}  // namespace
}  // namespace cardfs::sdcard
