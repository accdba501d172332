#include <exception>
#include <string>
#include <vector>

#include "base/log.h"
#include "tools/cli.h"

int main(int argc, char** argv) {
  try {
    return cardfs::tools::run_cli(std::vector<std::string>(argv, argv + argc));
  } catch (const std::exception& e) {
    cardfs::logger("tools")->critical("unexpected error: {}", e.what());
    return 8;
  }
}
