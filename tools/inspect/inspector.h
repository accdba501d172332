// Inspector: a debugfs/dumpe2fs-style, read-only view of a cardfs image.
//
// Commands are a table (inspect_commands.cpp): each takes its words and
// returns a Value (text or JSON rendering is the caller's choice) or, for
// `cat`, raw bytes. The image is read through an ImageIo; the card (when
// the image is a card image) adds `card` and `au`. Nothing is written.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fusefs/layout.h"
#include "tools/fsck/image_io.h"
#include "tools/inspect/value.h"

namespace cardfs::sdcard {
class Card;
}

namespace cardfs::inspect {

struct Output {
  Value value;
  std::optional<std::string> raw;  // printed as-is instead of value (cat)
};

struct DirItem {
  uint32_t ino = 0;
  uint16_t rec_len = 0;
  uint8_t type = 0;
  uint64_t file_block = 0;
  uint32_t offset = 0;
  std::string name;
};

class Inspector;
struct Command {
  const char* name;
  const char* usage;
  const char* help;
  size_t min_args;
  std::function<Result<Output>(Inspector&, const std::vector<std::string>&)> run;
};
const std::vector<Command>& commands();

class Inspector {
 public:
  static Result<std::unique_ptr<Inspector>> open(fsck::ImageIo& io, const sdcard::Card* card);
  // words[0] is the command.
  Result<Output> run(const std::vector<std::string>& words);

  const fusefs::Superblock& sb() const { return sb_; }
  const sdcard::Card* card() const { return card_; }
  uint32_t block_size() const { return sb_.block_size(); }
  Result<std::vector<std::byte>> block(uint64_t b);
  Result<fusefs::GroupDesc> group(uint32_t g);
  Result<fusefs::DiskInode> inode(uint32_t ino);
  // "/a/b", "a/b" (from the root) or "<12>" (an inode number).
  Result<uint32_t> resolve(const std::string& spec);
  Result<std::vector<DirItem>> list(uint32_t dir);
  // Disk block of every file block below the size (0: a hole).
  Result<std::vector<uint64_t>> file_map(const fusefs::DiskInode& d);
  // Indirect blocks of the inode, in file order.
  Result<std::vector<uint64_t>> indirect_blocks(const fusefs::DiskInode& d);
  bool block_in_use(uint64_t b);
  bool inode_in_use(uint32_t ino);

 private:
  Inspector(fsck::ImageIo& io, const sdcard::Card* card) : io_(io), card_(card) {}
  fsck::ImageIo& io_;
  const sdcard::Card* card_;
  fusefs::Superblock sb_;
};

}  // namespace cardfs::inspect
