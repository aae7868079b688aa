#include "analysis/csv.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace ziq::analysis {
namespace {

// 1-based column of byte offset `pos` in its line, counting UTF-8 code points.
int char_column(std::string_view text, size_t line_start, size_t pos) {
  int col = 1;
  for (size_t i = line_start; i < pos && i < text.size(); ++i)
    col += (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
  return col;
}

struct Record {
  std::vector<std::string> fields;
  int line = 0;
};

// Reads records one by one, tracking physical lines for messages.
class Reader {
 public:
  Reader(std::string_view text, const std::string& path) : t_(text), path_(path) {
    if (t_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
  }
  bool at_end() const { return pos_ >= t_.size(); }
  int line() const { return line_; }

  // The raw text of the current physical line (for comment lines), consuming it.
  std::string take_line() {
    size_t end = t_.find('\n', pos_);
    if (end == std::string_view::npos) end = t_.size();
    std::string s(t_.substr(pos_, end - pos_));
    if (!s.empty() && s.back() == '\r') s.pop_back();
    advance_line(end);
    return s;
  }
  bool line_starts_with(char c) const { return pos_ < t_.size() && t_[pos_] == c; }
  bool line_is_empty() const {
    return pos_ < t_.size() && (t_[pos_] == '\n' || (t_[pos_] == '\r' && pos_ + 1 < t_.size() && t_[pos_ + 1] == '\n'));
  }
  void skip_line() { take_line(); }

  Record read_record() {
    Record rec;
    rec.line = line_;
    std::string field;
    for (;;) {
      if (pos_ < t_.size() && t_[pos_] == '"') {
        int open_line = line_;
        size_t open_col = char_column(t_, line_start_, pos_);
        ++pos_;
        for (;;) {
          if (pos_ >= t_.size())
            input_error("{}:{}:{}: quoted field never closed (end of file reached)", path_, open_line, open_col);
          char c = t_[pos_];
          if (c == '"') {
            if (pos_ + 1 < t_.size() && t_[pos_ + 1] == '"') {
              field += '"';
              pos_ += 2;
              continue;
            }
            ++pos_;
            break;
          }
          if (c == '\n') {
            field += c;
            advance_line(pos_);
            continue;
          }
          field += c;
          ++pos_;
        }
        if (pos_ < t_.size() && t_[pos_] != ',' && t_[pos_] != '\n' && t_[pos_] != '\r')
          input_error("{}:{}:{}: unexpected character after the closing quote of a field", path_, line_,
                      char_column(t_, line_start_, pos_));
      } else {
        while (pos_ < t_.size() && t_[pos_] != ',' && t_[pos_] != '\n' && t_[pos_] != '\r') {
          if (t_[pos_] == '"')
            input_error("{}:{}:{}: quote inside an unquoted field (quote the whole field and double the quote)",
                        path_, line_, char_column(t_, line_start_, pos_));
          field += t_[pos_++];
        }
      }
      rec.fields.push_back(std::move(field));
      field.clear();
      if (pos_ >= t_.size()) return rec;
      char c = t_[pos_];
      if (c == ',') {
        ++pos_;
        continue;
      }
      if (c == '\r') {
        if (pos_ + 1 < t_.size() && t_[pos_ + 1] == '\n') {
          advance_line(pos_ + 1);
          return rec;
        }
        input_error("{}:{}:{}: carriage return not followed by a line feed", path_, line_,
                    char_column(t_, line_start_, pos_));
      }
      advance_line(pos_);  // '\n'
      return rec;
    }
  }

 private:
  // Moves past the '\n' at `newline` (or to the end).
  void advance_line(size_t newline) {
    pos_ = newline < t_.size() ? newline + 1 : t_.size();
    line_start_ = pos_;
    ++line_;
  }

  std::string_view t_;
  const std::string& path_;
  size_t pos_ = 0, line_start_ = 0;
  int line_ = 1;
};

}  // namespace

int CsvTable::column(std::string_view name) const {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return static_cast<int>(i);
  return -1;
}

int CsvTable::require_column(std::string_view name) const {
  int c = column(name);
  if (c >= 0) return c;
  std::string names;
  for (auto& h : header) names += (names.empty() ? "" : ", ") + h;
  input_error("{}:{}: no column named '{}' (columns: {})", path, header_line, name, names);
}

std::string CsvTable::where(size_t row) const { return fmt::format("{}:{}", path, row_lines.at(row)); }

CsvTable parse_csv(std::string_view text, const std::string& path) {
  CsvTable table;
  table.path = path;
  Reader r(text, path);
  while (!r.at_end() && (r.line_starts_with('#') || r.line_is_empty())) {
    if (r.line_starts_with('#')) table.comments.push_back(r.take_line().substr(1));
    else r.skip_line();
  }
  if (r.at_end()) input_error("{}: no header line (the file is empty or holds only comments)", path);
  table.header_line = r.line();
  table.header = r.read_record().fields;
  for (size_t i = 0; i < table.header.size(); ++i) {
    if (table.header[i].empty()) input_error("{}:{}: column {} has no name", path, table.header_line, i + 1);
    for (size_t j = 0; j < i; ++j)
      if (table.header[j] == table.header[i])
        input_error("{}:{}: column '{}' named twice (columns {} and {})", path, table.header_line,
                    table.header[i], j + 1, i + 1);
  }
  std::vector<std::string> bad_rows;
  while (!r.at_end()) {
    if (r.line_is_empty()) {  // blank lines carry no data; RFC 4180 has none, tables often do
      r.skip_line();
      continue;
    }
    Record rec = r.read_record();
    if (rec.fields.size() != table.header.size()) {
      bad_rows.push_back(fmt::format("{}:{}: {} fields, the header has {}", path, rec.line, rec.fields.size(),
                                     table.header.size()));
      continue;
    }
    table.rows.push_back(std::move(rec.fields));
    table.row_lines.push_back(rec.line);
  }
  if (!bad_rows.empty()) {
    std::string msg = fmt::format("{} row(s) with the wrong number of fields:", bad_rows.size());
    for (size_t i = 0; i < bad_rows.size() && i < 20; ++i) msg += "\n  " + bad_rows[i];
    if (bad_rows.size() > 20) msg += fmt::format("\n  ... and {} more", bad_rows.size() - 20);
    throw Error(ErrorKind::input, msg);
  }
  return table;
}

CsvTable read_csv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) input_error("{}: cannot open", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) input_error("{}: read error", path);
  return parse_csv(ss.str(), path);
}

std::optional<double> parse_number(std::string_view cell, bool* bad) {
  *bad = false;
  while (!cell.empty() && (cell.front() == ' ' || cell.front() == '\t')) cell.remove_prefix(1);
  while (!cell.empty() && (cell.back() == ' ' || cell.back() == '\t')) cell.remove_suffix(1);
  if (cell.empty()) return std::nullopt;
  std::string_view digits = cell;
  if (digits.front() == '+') digits.remove_prefix(1);
  double v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, std::chars_format::general);
  if (ec != std::errc() || end != digits.data() + digits.size() || !std::isfinite(v) ||
      digits.empty() || !(std::isdigit(static_cast<unsigned char>(digits.back())) || digits.back() == '.')) {
    *bad = true;
    return std::nullopt;
  }
  return v;
}

std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string csv_line(const std::vector<std::string>& fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) line += (i ? "," : "") + csv_field(fields[i]);
  return line + "\n";
}

}  // namespace ziq::analysis
