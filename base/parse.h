// Numbers and sizes as users type them: the one grammar every command-line
// option, mount option, sysfs-style tunable and inspector argument reads.
//
//   number   := digits                 decimal; no sign, no spaces, no junk
//             | "0x" hexdigits         only with IntegerSyntax::kCLiteral,
//             | "0" octdigits          as debugfs and strtoull(…, 0) read them
//   size     := number [unit]
//   unit     := K | M | G | T          binary: 1024, 1024², … (as mke2fs -b/-s,
//             | KiB | MiB | GiB | TiB  dd, mount's size= and the kernel read
//             | KB | MB | GB | TB      them); the explicit IEC names the same;
//                                      decimal: 1000, 1000², … (as dd reads KB)
//
// Units are case-insensitive ("64m", "64MiB", "64mib"); a bare "B" is
// refused rather than guessed (dd reads it as 512-byte blocks). Negative
// numbers ("-1"), overflow past the target width, fractions ("1.5G") and
// trailing text are errors (EINVAL for text, ERANGE for a value too large),
// each with a message that quotes what was typed.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/status.h"

namespace cardfs {

enum class IntegerSyntax {
  kDecimal,   // "4096"
  kCLiteral,  // "4096", "0x1000", "010000" (octal): debugfs's arguments
};

// An unsigned integer no larger than `max`.
Result<uint64_t> parse_uint(std::string_view text, IntegerSyntax syntax = IntegerSyntax::kDecimal,
                            uint64_t max = UINT64_MAX);

// An unsigned 32-bit integer (decimal): tunables, counts.
Result<uint32_t> parse_u32(std::string_view text);

// A byte count with an optional unit (grammar above).
Result<uint64_t> parse_size(std::string_view text);

}  // namespace cardfs
