// A small cardfs image made in-process on a FakeDevice, with known files,
// and helpers to damage it and to run fsck over it (tests only).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "fusefs/layout.h"
#include "tests/support/fake_device.h"
#include "tools/fsck/fsck.h"

namespace cardfs::fsck::testing {

struct ImageSpec {
  uint64_t bytes = 24ull << 20;  // three groups of 1 KiB blocks
  uint32_t block_size = 1024;
  uint32_t hashed_files = 80;    // files in /hashed (makes it indexed)
};

class TestImage {
 public:
  explicit TestImage(ImageSpec spec = {});
  cardfs::testing::FakeDevice& dev() { return dev_; }
  const fusefs::Superblock& sb() const { return sb_; }
  // path -> contents of every regular file written.
  const std::map<std::string, std::string>& files() const { return files_; }

  // fsck over the device; lines printed go to last_output().
  FsckReport fsck(Mode mode, bool force = true, uint64_t backup = 0);
  const std::string& last_output() const { return output_; }
  // Mounts and reads every file (except those in `skip`) and compares.
  // Returns the first mismatch ("" when all match).
  std::string verify_files(const std::vector<std::string>& skip = {});
  // Mounts and returns the contents of path (error text if unreadable).
  std::string read_path(const std::string& path);
  // Inode number of a path (0 if absent), through a mount.
  uint32_t inode_of(const std::string& path);
  // Removes an empty directory through a mount (a damage that leaves the
  // image consistent, e.g. rmdir /lost+found). Empty string on success.
  std::string rmdir(const std::string& parent, const std::string& name);

  // A file /name written, opened, unlinked and synced, then the
  // filesystem dropped while it was still open (a crash): its inode, which
  // is returned, is left on the orphan list with links 0.
  uint32_t add_orphan(const std::string& name, const std::string& data);
  // Mounts and writes a new file /name holding data; it joins files().
  void add_file(const std::string& name, const std::string& data);
  // Mounts and makes /name holding `count` files, each one with a
  // name_len-character name and a few bytes of its own; they join files().
  // A file fallocated to `size` (unwritten blocks), `data` written at
  // `offset` inside it, and `extra` more bytes preallocated past EOF.
  void add_preallocated_file(const std::string& name, uint64_t size, uint64_t offset,
                             const std::string& data, uint64_t extra);
  void add_wide_dir(const std::string& name, uint32_t count, size_t name_len);

  // Mounts and runs `ops` random operations (files, directories, links,
  // renames, truncates, holes, unlinks) from a fixed seed, then unmounts.
  void run_workload(uint32_t seed, int ops);

  // ---- damage helpers (raw bytes)
  std::vector<std::byte> read_bytes(uint64_t offset, size_t n);
  void write_bytes(uint64_t offset, std::span<const std::byte> b);
  std::vector<std::byte> read_block(uint64_t block);
  void write_block(uint64_t block, std::span<const std::byte> b);
  fusefs::DiskInode inode(uint32_t ino);
  void set_inode(uint32_t ino, const fusefs::DiskInode& d);  // with a valid checksum
  uint64_t inode_byte(uint32_t ino);                          // where its record lives
  // Disk block of file block fb of an inode (direct pointers only).
  uint64_t block_of(uint32_t ino, uint32_t fb) { return inode(ino).block[fb]; }

 private:
  void populate();
  ImageSpec spec_;
  cardfs::testing::FakeDevice dev_;
  VirtualClock clock_;
  fusefs::Superblock sb_;
  std::map<std::string, std::string> files_;
  std::string output_;
};

std::string pattern(uint32_t seed, size_t n);
bool has_finding(const FsckReport& r, Problem p);
std::string describe(const FsckReport& r);

// The corruption suite's rule: fsck -n exits 4 naming p, fsck -y exits 1,
// fsck -n then exits 0, and every file but `damaged` reads back intact.
void expect_found_and_repaired(TestImage& img, Problem p, const std::vector<std::string>& damaged = {});
// Edits directory block `block` of directory `dir`, then reseals it.
void edit_dir_block(TestImage& img, uint32_t dir, uint64_t block,
                    const std::function<void(std::vector<std::byte>&)>& edit);
// Offset of the entry `name` in a directory block (REQUIREs it exists).
uint32_t entry_offset(std::span<const std::byte> b, const std::string& name);

}  // namespace cardfs::fsck::testing
