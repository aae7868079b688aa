#include "cli/output.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

namespace ziq::cli {
namespace {
// Display width: count UTF-8 code points (good enough for the names and figures we print).
size_t display_width(const std::string& s) {
  size_t w = 0;
  for (unsigned char c : s) w += (c & 0xC0) != 0x80;
  return w;
}

bool looks_numeric(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end && *end == '\0';
}
}  // namespace

std::string Table::render() const {
  size_t ncol = header_.size();
  for (auto& r : rows_) ncol = std::max(ncol, r.size());
  std::vector<size_t> width(ncol, 0);
  std::vector<bool> numeric(ncol, true);
  for (size_t c = 0; c < header_.size(); ++c) width[c] = display_width(header_[c]);
  for (auto& r : rows_)
    for (size_t c = 0; c < r.size(); ++c) {
      width[c] = std::max(width[c], display_width(r[c]));
      if (!r[c].empty() && !looks_numeric(r[c])) numeric[c] = false;
    }
  if (rows_.empty()) std::fill(numeric.begin(), numeric.end(), false);
  std::string out;
  auto emit = [&](const std::vector<std::string>& r, bool is_header) {
    std::string line;
    for (size_t c = 0; c < ncol; ++c) {
      std::string cell = c < r.size() ? r[c] : "";
      size_t pad = width[c] - display_width(cell);
      if (c) line += "  ";
      if (numeric[c] && !is_header) line += std::string(pad, ' ') + cell;
      else if (numeric[c]) line += std::string(pad, ' ') + cell;
      else line += cell + (c + 1 < ncol ? std::string(pad, ' ') : "");
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  };
  emit(header_, true);
  for (auto& r : rows_) emit(r, false);
  return out;
}

void Table::print(FILE* out) const { std::fputs(render().c_str(), out); }

std::string fixed(double v, int decimals) { return fmt::format("{:.{}f}", v, decimals); }

void print_json(const nlohmann::json& j, FILE* out) {
  std::string s = j.dump(2);
  s += "\n";
  std::fputs(s.c_str(), out);
}

}  // namespace ziq::cli
