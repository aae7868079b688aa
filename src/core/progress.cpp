#include "core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>

namespace ziq {
namespace {
std::atomic<bool> g_disabled{false};

std::string human_rate(double per_sec, const std::string& unit) {
  const char* suffix = "";
  if (per_sec >= 1e9) { per_sec /= 1e9; suffix = "G"; }
  else if (per_sec >= 1e6) { per_sec /= 1e6; suffix = "M"; }
  else if (per_sec >= 1e3) { per_sec /= 1e3; suffix = "k"; }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f%s %s/s", per_sec, suffix, unit.c_str());
  return buf;
}

std::string human_seconds(double s) {
  char buf[32];
  int t = static_cast<int>(s + 0.5);
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%d:%02d", t / 60, t % 60);
  return buf;
}
}  // namespace

bool Progress::enabled_globally() { return !g_disabled.load(); }
void Progress::disable_globally() { g_disabled.store(true); }

Progress::Progress(std::string label, uint64_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total),
      start_(std::chrono::steady_clock::now()), last_draw_(start_),
      tty_(isatty(STDERR_FILENO) && enabled_globally()) {}

Progress::~Progress() { finish(); }

void Progress::add(uint64_t n) {
  std::lock_guard lock(mu_);
  done_ += n;
  draw_locked(false);
}

void Progress::set(uint64_t done) {
  std::lock_guard lock(mu_);
  done_ = done;
  draw_locked(false);
}

void Progress::set_total(uint64_t total) {
  std::lock_guard lock(mu_);
  total_ = total;
}

void Progress::finish() {
  std::lock_guard lock(mu_);
  if (finished_) return;
  finished_ = true;
  if (drawn_) std::fprintf(stderr, "\r\033[K");
}

void Progress::draw_locked(bool force) {
  if (!tty_ || finished_) return;
  auto now = std::chrono::steady_clock::now();
  double elapsed = std::chrono::duration<double>(now - start_).count();
  if (!force && (elapsed < 1.0 || now - last_draw_ < std::chrono::milliseconds(100))) return;
  last_draw_ = now;
  drawn_ = true;
  double rate = elapsed > 0 ? done_ / elapsed : 0;
  std::string line = "\r\033[K";
  line += label_;
  line += ' ';
  if (total_ > 0) {
    const int width = 30;
    double frac = std::min(1.0, static_cast<double>(done_) / total_);
    int fill = static_cast<int>(frac * width);
    line += "[" + std::string(fill, '#') + std::string(width - fill, '.') + "] ";
    char pct[16];
    std::snprintf(pct, sizeof pct, "%5.1f%% ", frac * 100);
    line += pct;
    if (rate > 0 && done_ < total_) line += "ETA " + human_seconds((total_ - done_) / rate) + " ";
  } else {
    line += std::to_string(done_) + " " + unit_ + " ";
  }
  if (!unit_.empty()) line += human_rate(rate, unit_);
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

}  // namespace ziq
