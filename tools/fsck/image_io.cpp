#include "tools/fsck/image_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "blockdev/block_device.h"

namespace cardfs::fsck {

Status check_range(uint64_t offset, uint64_t len, uint64_t size) {
  if (offset > size || len > size - offset)
    return Status::error(EINVAL, "I/O past the end of the image (byte " + std::to_string(offset) +
                                     ", " + std::to_string(len) + " bytes)");
  return Status::ok();
}

Status MemoryIo::read(uint64_t offset, std::span<std::byte> out) {
  CARDFS_RETURN_IF_ERROR(check_range(offset, out.size(), bytes_.size()));
  std::memcpy(out.data(), bytes_.data() + offset, out.size());
  return Status::ok();
}

Status MemoryIo::write(uint64_t offset, std::span<const std::byte> in) {
  if (read_only_) return Status::error(EROFS, "image opened read-only");
  CARDFS_RETURN_IF_ERROR(check_range(offset, in.size(), bytes_.size()));
  std::memcpy(bytes_.data() + offset, in.data(), in.size());
  return Status::ok();
}

Result<std::unique_ptr<FileIo>> FileIo::open(const std::string& path, bool read_only) {
  int fd = ::open(path.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (fd < 0) return Status::error(errno, path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Status::error(err, path + ": " + std::strerror(err));
  }
  return std::unique_ptr<FileIo>(new FileIo(fd, uint64_t(st.st_size), read_only));
}

FileIo::~FileIo() { ::close(fd_); }

Status FileIo::read(uint64_t offset, std::span<std::byte> out) {
  CARDFS_RETURN_IF_ERROR(check_range(offset, out.size(), size_));
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, off_t(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::error(EIO, "read of the image failed at byte " + std::to_string(offset));
    done += size_t(n);
  }
  return Status::ok();
}

Status FileIo::write(uint64_t offset, std::span<const std::byte> in) {
  if (read_only_) return Status::error(EROFS, "image opened read-only");
  CARDFS_RETURN_IF_ERROR(check_range(offset, in.size(), size_));
  size_t done = 0;
  while (done < in.size()) {
    ssize_t n = ::pwrite(fd_, in.data() + done, in.size() - done, off_t(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::error(EIO, "write of the image failed at byte " + std::to_string(offset));
    done += size_t(n);
  }
  return Status::ok();
}

Status FileIo::flush() {
  if (read_only_) return Status::ok();
  if (::fsync(fd_) != 0) return Status::error(EIO, std::string("fsync: ") + std::strerror(errno));
  return Status::ok();
}

uint64_t DeviceIo::size() const { return dev_.sector_count() * blockdev::kSectorSize; }

Status DeviceIo::transfer(bool write, uint64_t sector, std::span<std::byte> buf) {
  auto bio = std::make_unique<blockdev::Bio>();
  bio->op = write ? blockdev::BioOp::kWrite : blockdev::BioOp::kRead;
  bio->sector = sector;
  bio->flags = blockdev::kBioSync | blockdev::kBioMeta;
  for (size_t at = 0; at < buf.size(); at += 4096)
    bio->segments.push_back({buf.data() + at, uint32_t(std::min<size_t>(4096, buf.size() - at))});
  int status = blockdev::submit_and_wait(dev_, std::move(bio));
  if (status != 0)
    return Status::error(-status, std::string(write ? "write" : "read") + " of sector " +
                                      std::to_string(sector) + " failed");
  return Status::ok();
}

Status DeviceIo::read(uint64_t offset, std::span<std::byte> out) {
  CARDFS_RETURN_IF_ERROR(check_range(offset, out.size(), size()));
  const uint64_t ss = blockdev::kSectorSize;
  const uint64_t first = offset / ss, last = (offset + out.size() + ss - 1) / ss;
  std::vector<std::byte> buf((last - first) * ss);
  CARDFS_RETURN_IF_ERROR(transfer(false, first, buf));
  std::memcpy(out.data(), buf.data() + (offset - first * ss), out.size());
  return Status::ok();
}

Status DeviceIo::write(uint64_t offset, std::span<const std::byte> in) {
  if (read_only_) return Status::error(EROFS, "image opened read-only");
  CARDFS_RETURN_IF_ERROR(check_range(offset, in.size(), size()));
  const uint64_t ss = blockdev::kSectorSize;
  const uint64_t first = offset / ss, last = (offset + in.size() + ss - 1) / ss;
  std::vector<std::byte> buf((last - first) * ss);
  if (offset % ss || in.size() % ss) CARDFS_RETURN_IF_ERROR(transfer(false, first, buf));
  std::memcpy(buf.data() + (offset - first * ss), in.data(), in.size());
  return transfer(true, first, buf);
}

Status DeviceIo::flush() {
  if (read_only_) return Status::ok();
  auto bio = std::make_unique<blockdev::Bio>();
  bio->op = blockdev::BioOp::kFlush;
  int status = blockdev::submit_and_wait(dev_, std::move(bio));
  if (status != 0) return Status::error(-status, "device flush failed");
  return Status::ok();
}

}  // namespace cardfs::fsck
