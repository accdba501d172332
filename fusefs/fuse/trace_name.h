// Where `echo "start NAME" > MOUNT/.cardfs/trace` puts its files.
//
// The daemon runs in "/", so a name taken as it is would land at "/NAME"
// and `cardfs trace NAME`, run where the user typed the echo, would not
// find it. An absolute NAME stays as it is; a relative one is taken from
// the working directory of the process that wrote the control file
// (/proc/PID/cwd), as a shell user means it. Refused with a message: a
// relative name when that directory cannot be read, and a name inside
// the traced mount itself (the trace would be written through the queue
// it traces).
#pragma once

#include <sys/types.h>

#include <string>

#include "base/status.h"

namespace cardfs::fuse {

// `mountpoint` is absolute; `writer` 0 means unknown.
Result<std::string> resolve_trace_name(const std::string& name, pid_t writer, const std::string& mountpoint);

}  // namespace cardfs::fuse
