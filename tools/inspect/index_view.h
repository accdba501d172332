// The hashed index tree of a directory, for `inspect ls -l` (text and
// JSON; schema in docs/inspect.md). Never fails: what cannot be read is
// reported in an "error" field and the walk stops there.
#pragma once

#include <cstdint>
#include <vector>

#include "tools/inspect/inspector.h"
#include "tools/inspect/value.h"

namespace cardfs::inspect {

// map: the directory's disk block per file block (Inspector::file_map).
Value index_tree(Inspector& in, const std::vector<uint64_t>& map);

}  // namespace cardfs::inspect
