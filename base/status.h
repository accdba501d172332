// Status and Result<T>: errors as values, never exceptions.
//
// A Status is 0 (ok) or a positive errno value with a message that names
// what failed. Each layer returns them; the FUSE adapter and the CLI
// translate them once, at the edge (-errno for FUSE, exit codes for tools).
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace cardfs {

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status ok() { return Status(); }
  // errno_value must be > 0 (EIO, ENOSPC, ...).
  static Status error(int errno_value, std::string message) {
    return Status(errno_value, std::move(message));
  }

  bool is_ok() const { return code_ == 0; }
  explicit operator bool() const { return is_ok(); }
  // The errno value; 0 when ok.
  int code() const { return code_; }
  const std::string& message() const { return message_; }
  // "message (strerror)" or "ok".
  std::string to_string() const;

  // Adds context in front of the message: "opening image: bad magic".
  Status with_context(const std::string& what) const {
    if (is_ok()) return *this;
    return Status(code_, what + ": " + message_);
  }

 private:
  Status(int code, std::string message) : code_(code), message_(std::move(message)) {}
  int code_ = 0;
  std::string message_;
};

// Holds either a T or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: must not be ok

  bool is_ok() const { return v_.index() == 0; }
  explicit operator bool() const { return is_ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  // The error; Status::ok() when a value is held.
  Status status() const { return is_ok() ? Status::ok() : std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace cardfs

// Returns early from the enclosing function when expr yields a non-ok Status.
#define CARDFS_RETURN_IF_ERROR(expr)              \
  do {                                            \
    ::cardfs::Status _st = (expr);                \
    if (!_st.is_ok()) return _st;                 \
  } while (0)

#define CARDFS_CONCAT_INNER(a, b) a##b
#define CARDFS_CONCAT(a, b) CARDFS_CONCAT_INNER(a, b)
// CARDFS_ASSIGN_OR_RETURN(auto x, f()); returns f()'s Status on error.
#define CARDFS_ASSIGN_OR_RETURN(lhs, expr) \
  CARDFS_ASSIGN_OR_RETURN_IMPL(CARDFS_CONCAT(_res_, __LINE__), lhs, expr)
#define CARDFS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.is_ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
