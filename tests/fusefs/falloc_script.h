// A fallocate script run against one file, printing what a comparison
// needs: each call's errno, then the size, the allocated blocks (holes and
// blocks, not how a filesystem marks them) and a checksum of the bytes.
// The same script runs on a kernel filesystem through syscalls
// (falloc_script_main.cpp, on ext4 by tests/mount/fallocate_ext4.sh) and
// in-process on cardfs (fallocate_modes_test.cpp), and their outputs are
// compared line by line.
//
// Script lines ('#' starts a comment):
//   write OFF LEN        LEN bytes of a pattern that differs per write
//   truncate SIZE
//   falloc MODE OFF LEN  MODE: alloc, or names joined by '|': keep, punch,
//                        zero, collapse, insert (or a number)
#pragma once

#include <cstdint>
#include <istream>
#include <span>
#include <string>
#include <vector>

namespace cardfs::testing {

class FileUnderTest {
 public:
  virtual ~FileUnderTest() = default;
  // Each returns 0 or the errno of the failure.
  virtual int fallocate(int mode, uint64_t offset, uint64_t length) = 0;
  virtual int write(uint64_t offset, std::span<const std::byte> data) = 0;
  virtual int truncate(uint64_t size) = 0;
  virtual uint64_t size() = 0;
  virtual std::vector<std::byte> read(uint64_t offset, uint64_t length) = 0;
  // Whether each of file blocks [0, blocks) has a block (written or not).
  virtual std::vector<bool> allocated(uint64_t blocks) = 0;
};

// Blocks past this are never looked at (the scripts stay below it).
inline constexpr uint64_t kScriptMaxBlocks = 1 << 16;

// Runs the script; returns its transcript, or "error: ..." for a bad line.
std::string run_falloc_script(std::istream& script, FileUnderTest& file, uint32_t block_size);

}  // namespace cardfs::testing
