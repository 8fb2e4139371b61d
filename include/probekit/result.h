// probekit/result.h — Result<T> and Error, the error currency of every library layer.
//
// g++ 12 in C++20 mode has no std::expected, so this is a small expected-like
// type. Library code never throws across a layer boundary: it returns an Error
// carrying what went wrong (message), the errno where one exists, a stable
// kind that callers can branch on, and, where the user's text caused it, the
// source range. Propagate with early returns:
//
//   auto sym = table.find(name);
//   if (!sym) return sym.error();
#pragma once

#include <cassert>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace probekit {

// Stable kinds of failure. Front ends map them to exit codes (usage vs
// runtime) and tests assert on them rather than on message wording.
enum class ErrorKind {
  generic,
  usage,                     // bad flag, malformed text: exit code 2
  parse,                     // malformed definition or program: exit code 2
  no_such_symbol,            // exit code 2
  no_such_module,            // exit code 2
  not_instruction_boundary,  // exit code 2
  denied_instruction,        // exit code 2
  cannot_relocate,           // exit code 2
  unsupported,               // exit code 2
  io,                        // file or /proc read failed: exit code 1
  no_such_process,           // exit code 1
  permission,                // ptrace refused: exit code 1
  target_exited,             // exit code 1
  bad_address,               // memory read at an unmapped address
  internal,                  // broken invariant reported instead of crashing
};

const char* to_string(ErrorKind kind);

// A span in the user's text: 1-based line and column, length in characters.
struct SourceRange {
  std::string file;  // "<command line>" for -n / definitions
  int line = 0;
  int column = 0;
  int length = 1;
};

class Error {
public:
  Error() = default;
  explicit Error(std::string message, ErrorKind kind = ErrorKind::generic, int errnum = 0)
      : message_(std::move(message)), kind_(kind), errnum_(errnum) {}

  // An Error from errno: "<what>: <strerror(errnum)>".
  static Error from_errno(std::string what, int errnum, ErrorKind kind = ErrorKind::io);

  const std::string& message() const { return message_; }
  ErrorKind kind() const { return kind_; }
  int errnum() const { return errnum_; }
  const std::optional<SourceRange>& range() const { return range_; }

  Error& at(SourceRange range) {
    range_ = std::move(range);
    return *this;
  }
  // Prefix context: "reading /proc/1/maps" + ": " + message.
  Error& context(const std::string& where) {
    message_ = where + ": " + message_;
    return *this;
  }

  // True for kinds caused by the user's input (exit code 2).
  bool is_usage() const;

private:
  std::string message_;
  ErrorKind kind_ = ErrorKind::generic;
  int errnum_ = 0;
  std::optional<SourceRange> range_;
};

template <typename T>
class [[nodiscard]] Result {
public:
  Result(T value) : v_(std::move(value)) {}            // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}        // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok() && "Result::value() on an error");
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok() && "Result::value() on an error");
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok() && "Result::value() on an error");
    return std::get<0>(std::move(v_));
  }
  T value_or(T fallback) const { return ok() ? std::get<0>(v_) : std::move(fallback); }

  const Error& error() const& {
    assert(!ok() && "Result::error() on a value");
    return std::get<1>(v_);
  }
  Error&& error() && {
    assert(!ok() && "Result::error() on a value");
    return std::get<1>(std::move(v_));
  }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const& {
    assert(!ok() && "Result::error() on success");
    return *error_;
  }
  Error&& error() && {
    assert(!ok() && "Result::error() on success");
    return std::move(*error_);
  }

private:
  std::optional<Error> error_;
};

using Status = Result<void>;

}  // namespace probekit

// PK_TRY(expr): evaluate a Result-returning expression and return its error
// from the enclosing function if it failed.
#define PK_TRY(expr)                          \
  do {                                        \
    auto pk_try_result_ = (expr);             \
    if (!pk_try_result_) return std::move(pk_try_result_).error(); \
  } while (0)
