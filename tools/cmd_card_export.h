// `cardfs card export`'s FUSE side, shared by the daemon
// (cmd_card_export.cpp) and the operations (cmd_card_export_ops.cpp):
// DIR/card (the raw card, direct_io; O_SYNC/O_DSYNC writes are FUA, fsync
// the card's cache flush, a punched hole its trim), DIR/stat (the card's
// counters when opened), DIR/mark (a line written there: a marker in the
// command log).
#pragma once
#define FUSE_USE_VERSION 314
#include <cstdint>

#include "blockdev/command_log.h"
#include "blockdev/tracer.h"
#include "fusefs/fuse/op_guard.h"  // fuse_lowlevel.h
#include "sdcard/card.h"

namespace cardfs::tools::card_export {

// What the operations serve: the session's userdata.
struct Export {
  sdcard::Card* card;
  uint64_t bytes;
  blockdev::Tracer* tracer = nullptr;  // --trace
  blockdev::CommandLog* log = nullptr; // --record
};

inline constexpr uint64_t kSector = 512;

// The low-level operations; one thread serves them, one request at a time.
fuse_lowlevel_ops make_ops();

}  // namespace cardfs::tools::card_export
