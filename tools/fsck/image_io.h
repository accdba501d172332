// ImageIo: the byte-addressed view of a filesystem image that fsck and
// inspect read (and, when repairing, write).
//
// Contract
// - read()/write() take byte offsets; a range past size() is EINVAL, a
//   failed device I/O is EIO. write() on a read-only source is EROFS.
// - Implementations: MemoryIo (a byte vector: fuzzing, golden images),
//   FileIo (a raw image file), DeviceIo (any blockdev::BlockDevice, e.g.
//   tests' RamDevice), CardIo (an emulated SD card image through the FTL's
//   logical view; tools/fsck/card_io.h).
// - Not thread-safe: one checker uses one ImageIo at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"

namespace cardfs::blockdev {
class BlockDevice;
}

namespace cardfs::fsck {

class ImageIo {
 public:
  virtual ~ImageIo() = default;
  virtual uint64_t size() const = 0;
  virtual bool read_only() const = 0;
  virtual Status read(uint64_t offset, std::span<std::byte> out) = 0;
  virtual Status write(uint64_t offset, std::span<const std::byte> in) = 0;
  // Makes every write durable (a cache flush on devices).
  virtual Status flush() = 0;
  // Byte ranges [offset, offset + length) whose reads fail (a card's
  // patrol read finds pages its ECC cannot correct); none by default.
  struct Range {
    uint64_t offset = 0, length = 0;
  };
  virtual Result<std::vector<Range>> unreadable_ranges() { return std::vector<Range>{}; }
};

class MemoryIo final : public ImageIo {
 public:
  explicit MemoryIo(std::vector<std::byte> bytes, bool read_only = false)
      : bytes_(std::move(bytes)), read_only_(read_only) {}
  uint64_t size() const override { return bytes_.size(); }
  bool read_only() const override { return read_only_; }
  Status read(uint64_t offset, std::span<std::byte> out) override;
  Status write(uint64_t offset, std::span<const std::byte> in) override;
  Status flush() override { return Status::ok(); }
  const std::vector<std::byte>& bytes() const { return bytes_; }

 private:
  std::vector<std::byte> bytes_;
  bool read_only_;
};

class FileIo final : public ImageIo {
 public:
  static Result<std::unique_ptr<FileIo>> open(const std::string& path, bool read_only);
  ~FileIo() override;
  uint64_t size() const override { return size_; }
  bool read_only() const override { return read_only_; }
  Status read(uint64_t offset, std::span<std::byte> out) override;
  Status write(uint64_t offset, std::span<const std::byte> in) override;
  Status flush() override;

 private:
  FileIo(int fd, uint64_t size, bool ro) : fd_(fd), size_(size), read_only_(ro) {}
  int fd_;
  uint64_t size_;
  bool read_only_;
};

// Synchronous I/O over a BlockDevice: each call submits 512-byte aligned
// bios and waits for their completion.
class DeviceIo final : public ImageIo {
 public:
  DeviceIo(blockdev::BlockDevice& dev, bool read_only) : dev_(dev), read_only_(read_only) {}
  uint64_t size() const override;
  bool read_only() const override { return read_only_; }
  Status read(uint64_t offset, std::span<std::byte> out) override;
  Status write(uint64_t offset, std::span<const std::byte> in) override;
  Status flush() override;

 private:
  Status transfer(bool write, uint64_t sector, std::span<std::byte> buf);
  blockdev::BlockDevice& dev_;
  bool read_only_;
};

// Sector-aligned read-modify-write helpers shared by the sector devices.
Status check_range(uint64_t offset, uint64_t len, uint64_t size);

}  // namespace cardfs::fsck
