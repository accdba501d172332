// ScratchDir: a fresh directory for one test, removed with everything in
// it when the ScratchDir goes (also when a REQUIRE fails and unwinds).
//
// It lives under the working directory (ctest runs tests in the build
// tree), not /tmp: a tmpfs /tmp refuses O_DIRECT, which the card's image
// file uses for large reads. The name is unique per process (mkdtemp), so
// tests running in parallel never share one.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace cardfs::testing {

class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name) {
    const std::filesystem::path base = std::filesystem::current_path() / "test-scratch";
    std::filesystem::create_directories(base);
    std::string tmpl = (base / (name + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp " + tmpl + " failed");
    dir_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& dir() const { return dir_; }
  // A path inside the directory.
  std::string path(const std::string& file) const { return dir_ + "/" + file; }

 private:
  std::string dir_;
};

}  // namespace cardfs::testing
