// fsck: the cardfs filesystem checker (e2fsck's passes for this format).
//
// check_filesystem() reads the image through an ImageIo and runs, in
// e2fsck's order: the superblock and group descriptors (falling back to a
// backup superblock), pass 1 (inodes, block maps, block ownership and
// checksums; 1B clones blocks owned twice), pass 2 (directory blocks,
// entries, '.' and '..', hashed indexes), pass 3 (connectivity, lost+found),
// pass 4 (reference counts) and pass 5 (bitmaps and free counts). Every
// problem is one sentence naming the inode, block or path, answered
// according to the mode, and fixed at once when the answer is yes.
//
// Contract
// - Mode::kNo never writes (the ImageIo may be read-only). The other modes
//   write only fixes that were answered yes, then flush.
// - Operational failures (I/O errors, no usable superblock at all) are a
//   Status; problems found in the image are findings in the report.
// - Not thread-safe; one call uses its ImageIo alone.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "tools/fsck/image_io.h"
#include "tools/fsck/problem.h"

namespace cardfs::fsck {

// e2fsck's exit codes (bits, or-ed together).
inline constexpr int kExitClean = 0;
inline constexpr int kExitCorrected = 1;
inline constexpr int kExitCorrectedReboot = 2;
inline constexpr int kExitUncorrected = 4;
inline constexpr int kExitOperational = 8;
inline constexpr int kExitUsage = 16;
inline constexpr int kExitCancelled = 32;

enum class Mode {
  kAsk,    // ask() decides each fix (a terminal)
  kNo,     // -n: answer no, never write
  kPreen,  // -p: fix what is safe, stop at anything else
  kYes,    // -y: fix everything
};

struct FsckOptions {
  Mode mode = Mode::kNo;
  bool force = false;    // -f: check even when the image is marked clean
  bool verbose = false;  // -v: a fuller summary
  uint64_t superblock = 0;  // -b: a backup superblock's block number (0: primary)
  // Interactive answer for Mode::kAsk; returning std::nullopt cancels.
  std::function<std::optional<bool>(const std::string& question)> ask;
  // Receives every report line (problems, pass headers with verbose, summary).
  std::function<void(const std::string& line)> out;
  // Progress: (pass 1..5, done, total).
  std::function<void(int, uint64_t, uint64_t)> progress;
  uint64_t now_sec = 0;  // written as the last check time when repairing
  std::string name = "image";  // how the image is named in the summary
};

struct FsckStats {
  uint64_t inodes_used = 0, inodes_total = 0;
  uint64_t blocks_used = 0, blocks_total = 0;
  uint64_t regular = 0, directories = 0, symlinks = 0, specials = 0;
  uint64_t noncontiguous = 0;  // files whose data is not one run of blocks
};

struct FsckReport {
  int exit_code = kExitClean;
  std::vector<Finding> findings;
  FsckStats stats;
  bool modified = false;   // something was written
  bool skipped = false;    // clean and not forced: no check ran
  bool cancelled = false;
  std::string summary;     // e2fsck's last line
};

Result<FsckReport> check_filesystem(ImageIo& io, const FsckOptions& opts);

}  // namespace cardfs::fsck
