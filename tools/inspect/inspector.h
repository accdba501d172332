// Inspector: a debugfs/dumpe2fs-style view of a cardfs image.
//
// Commands are a table (commands.cpp): each takes its words and returns a
// Value (text or JSON rendering is the caller's choice) or, for `cat`, raw
// bytes. The image is read through an ImageIo; the card (when the image is
// a card image) adds `card` and `au`. Nothing is written unless the ImageIo
// is writable: then the repair commands (write_commands.cpp) run too, each
// only after confirm() says yes, and they keep every checksum right.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fusefs/format.h"
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
const std::vector<Command>& write_commands();  // need a writable image
// Every command with its usage and what it does (`help`, `inspect --help`).
Value command_table();

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
  // Disk block of every file block below the size (0: a hole); with
  // unwritten, which of them are marked unwritten (allocated, read as zeros).
  Result<std::vector<uint64_t>> file_map(const fusefs::DiskInode& d,
                                         std::vector<bool>* unwritten = nullptr);
  bool unwritten_feature() const { return sb_.feature_incompat & fusefs::kIncompatUnwritten; }
  // Walks d's pointer tree over the image, bounded by its size.
  Status walk_map(const fusefs::DiskInode& d,
                  const std::function<Result<fusefs::Visit>(const fusefs::PointerRef&, uint64_t)>& enter);
  // Indirect blocks of the inode, in file order.
  Result<std::vector<uint64_t>> indirect_blocks(const fusefs::DiskInode& d);
  bool block_in_use(uint64_t b);
  bool inode_in_use(uint32_t ino);

  // ---- writing (write_commands.cpp); EROFS on a read-only image
  bool writable() const { return !io_.read_only(); }
  // Asked before each write with a sentence saying what it will do;
  // without one set, nothing is written.
  void set_confirm(std::function<bool(const std::string&)> f) { confirm_ = std::move(f); }
  bool confirm(const std::string& what) const { return confirm_ && confirm_(what); }
  // The inode as stored, whatever its checksum says.
  Result<fusefs::DiskInode> inode_unverified(uint32_t ino);
  // Writes an inode record with its checksum; an all-zero record with `clear`.
  Status put_inode(uint32_t ino, const fusefs::DiskInode& d, bool clear = false);
  Status put_group(uint32_t g, const fusefs::GroupDesc& gd);
  Status put_block(uint64_t b, std::span<const std::byte> data);
  // The primary superblock from sb() (after the caller's changes).
  Status put_super();
  fusefs::Superblock& mutable_sb() { return sb_; }

 private:
  Inspector(fsck::ImageIo& io, const sdcard::Card* card) : io_(io), card_(card) {}
  Result<uint64_t> inode_byte(uint32_t ino);  // where its record lives
  Result<std::vector<std::byte>> inode_record(uint32_t ino);
  fsck::ImageIo& io_;
  const sdcard::Card* card_;
  fusefs::Superblock sb_;
  std::function<bool(const std::string&)> confirm_;
};

}  // namespace cardfs::inspect
