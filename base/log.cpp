#include "base/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

namespace cardfs {
namespace {
std::mutex g_mu;
spdlog::level::level_enum g_level = spdlog::level::warn;
}  // namespace

std::shared_ptr<spdlog::logger> logger(const std::string& layer) {
  std::lock_guard lock(g_mu);
  if (auto existing = spdlog::get(layer)) return existing;
  auto log = spdlog::stderr_color_mt(layer);
  log->set_level(g_level);
  log->set_pattern("cardfs[%n] %^%l%$: %v");
  return log;
}

void set_log_level(spdlog::level::level_enum level) {
  std::lock_guard lock(g_mu);
  g_level = level;
  spdlog::set_level(level);
}

}  // namespace cardfs
