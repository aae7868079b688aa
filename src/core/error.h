// Errors and exit codes. Every failure ziq reports is a ziq::Error carrying one of three kinds,
// so the command line can map it to a documented exit code:
//   usage (2): the command line itself is wrong;
//   input (3): a file the user gave (corpus, model, tokenizer, CSV) is bad — the message names
//              the file and the place (line, field, tensor);
//   internal (4): a bug or an environment failure (out of memory, I/O error on our own files).
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace ziq {

enum class ErrorKind { usage, input, internal };

enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 2,
  kExitInput = 3,
  kExitInternal = 4,
  kExitInterrupted = 130,  // SIGINT (Ctrl-C)
  kExitTerminated = 143,   // SIGTERM
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message) : std::runtime_error(std::move(message)), kind_(kind) {}
  ErrorKind kind() const { return kind_; }
  int exit_code() const {
    switch (kind_) {
      case ErrorKind::usage: return kExitUsage;
      case ErrorKind::input: return kExitInput;
      case ErrorKind::internal: return kExitInternal;
    }
    return kExitInternal;
  }

 private:
  ErrorKind kind_;
};

// Bad user input: say which file and where, e.g. input_error("{}:{}: bad JSON: {}", path, line, why).
template <typename... Args>
[[noreturn]] void input_error(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(ErrorKind::input, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
[[noreturn]] void usage_error(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(ErrorKind::usage, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
[[noreturn]] void internal_error(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(ErrorKind::internal, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace ziq
