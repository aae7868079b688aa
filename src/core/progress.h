// A progress bar on standard error, drawn only when stderr is a terminal and the work has already
// taken more than a second; silent otherwise (pipes, CI, --json runs stay clean).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace ziq {

class Progress {
 public:
  // total = 0 means unknown (a spinner-like counter is drawn instead of a bar).
  Progress(std::string label, uint64_t total, std::string unit = "");
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void add(uint64_t n);   // thread-safe
  void set(uint64_t done);
  void set_total(uint64_t total);
  void finish();          // clears the line

  static bool enabled_globally();
  static void disable_globally();  // --quiet / --json

 private:
  void draw_locked(bool force);

  std::string label_, unit_;
  uint64_t total_, done_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool drawn_ = false, finished_ = false, tty_;
  std::mutex mu_;
};

}  // namespace ziq
