// One spdlog logger per layer ("sdcard", "blockdev", "cache", "fusefs",
// "tools"), all writing to stderr at a level the CLI sets once.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace cardfs {

// The logger named `layer`, created on first use. Thread-safe.
std::shared_ptr<spdlog::logger> logger(const std::string& layer);

// Sets the level of every logger, present and future.
void set_log_level(spdlog::level::level_enum level);

}  // namespace cardfs
