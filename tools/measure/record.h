// Recording a workload for `cardfs measure`: a fresh card with the
// filesystem on it (tools/workload/fs_on_card.h), the command run in the
// mount with CARDFS_MNT set, the card-level trace of everything from the
// mount to the end of the unmount, and (cardfs) the freshly made card of
// each profile the trace is replayed from.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "tools/measure/costs.h"

namespace cardfs::measure {

struct RecordOptions {
  std::string cardfs;                 // the cardfs binary
  std::string fs = "cardfs";
  std::vector<std::string> profiles;  // the first is the card recorded on
  uint64_t size_bytes = 0;
  std::vector<std::string> command;
  std::string work_dir;               // scratch (images, mount points), removed by the caller
  std::string out_dir;                // trace/ and command.log go here
  std::function<void(const std::string&)> progress;  // a stage started
  // Polled while the command runs: once true, the command gets SIGTERM
  // (a ^C on the terminal reaches it directly) and recording goes on to
  // the unmount.
  std::function<bool()> interrupted;
};

struct Recorded {
  Recording rec;
  double wall_s = 0;     // the command's own wall time
  int exit_status = 0;
  // cardfs: per profile, the freshly made image the trace replays from.
  std::vector<std::string> base_images;
};

Result<Recorded> record(const RecordOptions& o);

}  // namespace cardfs::measure
