// ImageFile's reads: large uncached aligned reads bypass the host's page
// cache, everything else goes through it, and both return what was written.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include <liburing.h>

#include "sdcard/image_file.h"
#include "tests/sdcard/card_fixture.h"

namespace cardfs::sdcard {
namespace {

constexpr uint64_t MiB = 1 << 20;

struct Free {
  void operator()(std::byte* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<std::byte[], Free>;

Buffer aligned(size_t bytes) {
  return Buffer(static_cast<std::byte*>(std::aligned_alloc(ImageFile::kDirectAlign, bytes)));
}

// Writes `bytes` of a pattern at `offset` (tag identifies the write).
std::vector<std::byte> fill(ImageFile& f, uint64_t offset, uint64_t bytes, uint32_t tag) {
  std::vector<std::byte> data = testing::pattern(offset / 512, bytes / 512, tag);
  REQUIRE(f.write_at(offset, data).is_ok());
  return data;
}

// Writes the image back and evicts it from the host's page cache.
void drop_host_cache(ImageFile& f) {
  REQUIRE(f.sync().is_ok());
  int fd = ::open(f.path().c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0);
  ::close(fd);
}

bool read_matches(ImageFile& f, uint64_t offset, std::span<const std::byte> want, size_t align_shift = 0) {
  Buffer buf = aligned(want.size() + ImageFile::kDirectAlign);
  std::span<std::byte> out(buf.get() + align_shift, want.size());
  REQUIRE(f.read_at(offset, out).is_ok());
  return std::memcmp(out.data(), want.data(), want.size()) == 0;
}

std::unique_ptr<ImageFile> make_image(const testing::ScratchDir& dir, uint64_t bytes) {
  auto f = ImageFile::open(dir.path("image"), OpenMode::kCreate);
  REQUIRE(f.is_ok());
  REQUIRE((*f)->set_size(bytes).is_ok());
  return std::move(*f);
}

TEST_CASE("a large read of data the host does not cache bypasses its cache", "[sdcard][image_file]") {
  testing::ScratchDir dir("image-file-direct");
  auto f = make_image(dir, 8 * MiB);
  auto data = fill(*f, 2 * MiB, MiB, 1);
  drop_host_cache(*f);
  CHECK(read_matches(*f, 2 * MiB, data));
  if (f->reads_direct()) {
    CHECK(f->direct_bytes_read() == MiB);
  } else {
    WARN("the scratch file system takes no O_DIRECT reads: only the buffered path ran");
    CHECK(f->direct_bytes_read() == 0);
  }
}

TEST_CASE("data in the host's cache, dirty or clean, is read from it", "[sdcard][image_file]") {
  testing::ScratchDir dir("image-file-cached");
  auto f = make_image(dir, 8 * MiB);
  auto dirty = fill(*f, 0, MiB, 2);  // not yet written back by the host
  CHECK(read_matches(*f, 0, dirty));
  REQUIRE(f->sync().is_ok());  // clean now, still cached
  CHECK(read_matches(*f, 0, dirty));
  CHECK(f->direct_bytes_read() == 0);

  // One dirty page inside an otherwise uncached range: the whole range is
  // read through the cache, so the new page is seen.
  auto old = fill(*f, 4 * MiB, MiB, 3);
  drop_host_cache(*f);
  auto page = fill(*f, 4 * MiB + 256 * 1024, 4096, 4);
  std::memcpy(old.data() + 256 * 1024, page.data(), page.size());
  CHECK(read_matches(*f, 4 * MiB, old));
  CHECK(f->direct_bytes_read() == 0);
}

TEST_CASE("small and unaligned reads stay buffered", "[sdcard][image_file]") {
  testing::ScratchDir dir("image-file-unaligned");
  auto f = make_image(dir, 8 * MiB);
  auto data = fill(*f, 0, 2 * MiB, 5);
  drop_host_cache(*f);
  std::span<const std::byte> all(data);
  CHECK(read_matches(*f, 512, all.subspan(512, MiB)));                // offset off 4 KiB
  drop_host_cache(*f);
  CHECK(read_matches(*f, 0, all.first(MiB), 512));                    // buffer off 4 KiB
  drop_host_cache(*f);
  CHECK(read_matches(*f, MiB, all.subspan(MiB, ImageFile::kDirectReadMin / 2)));  // small
  CHECK(f->direct_bytes_read() == 0);
}

TEST_CASE("a direct read running past the end of the file is EIO, as a buffered one", "[sdcard][image_file]") {
  testing::ScratchDir dir("image-file-eof");
  auto f = make_image(dir, 2 * MiB);
  fill(*f, 0, 2 * MiB, 6);
  drop_host_cache(*f);
  Buffer buf = aligned(MiB);
  Status st = f->read_at(3 * MiB / 2, {buf.get(), MiB});
  CHECK(st.code() == EIO);
}

// Fault injection for ImageFile::transfer: the kernel takes every request,
// then the submit reports an error; or it takes none.
int submit_all_then_fail(io_uring* ring, unsigned) {
  (void)io_uring_submit(ring);
  return -ENOMEM;
}
int take_none_and_fail(io_uring*, unsigned) { return -ENOMEM; }

// 32 reads of 64 KiB into one buffer, each at its own offset.
Status read_many(ImageFile& f, std::vector<std::byte>& out) {
  constexpr size_t kOps = 32, kBytes = 64 * 1024;
  out.assign(kOps * kBytes, std::byte{0xee});
  std::vector<iovec> iov(kOps);
  std::vector<IoOp> ops(kOps);
  for (size_t i = 0; i < kOps; ++i) {
    iov[i] = {out.data() + i * kBytes, kBytes};
    ops[i] = {i * kBytes, std::span<const iovec>(&iov[i], 1)};
  }
  return f.read(ops);
}

TEST_CASE("a failed submit collects every request the kernel took before returning", "[sdcard][image_file]") {
  testing::ScratchDir dir("image-file-submit-fails");
  auto f = make_image(dir, 4 * MiB);
  auto data = fill(*f, 0, 2 * MiB, 7);
  for (auto fault : {submit_all_then_fail, take_none_and_fail}) {
    std::vector<std::byte> got;
    f->set_submit_and_wait(fault);
    CHECK(read_many(*f, got).code() == ENOMEM);
    // Nothing of that call is left in the ring: the next transfer sees only
    // its own completions (a leftover one would be counted as its own, or
    // a NOP-less leftover request would write into freed memory).
    f->set_submit_and_wait(io_uring_submit_and_wait);
    REQUIRE(read_many(*f, got).is_ok());
    CHECK(std::memcmp(got.data(), data.data(), got.size()) == 0);
  }
}

}  // namespace
}  // namespace cardfs::sdcard
