// CSV tables as RFC 4180 defines them (comma separator, double-quoted fields with "" for a quote,
// line breaks inside quotes, CRLF or LF record ends), plus two things tables in the wild need:
// an optional UTF-8 byte-order mark, and comment lines starting with '#' before the header (such
// as the explanation line of the paper's results table). Written by hand: it is small, and errors
// must name the file, line and column, which the Debian CSV libraries do not do in this form.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ziq::analysis {

struct CsvTable {
  std::string path;                    // as given; used in every message
  std::vector<std::string> comments;   // the '#' lines before the header, without the '#'
  std::vector<std::string> header;
  int header_line = 0;                 // 1-based physical line of the header
  std::vector<std::vector<std::string>> rows;
  std::vector<int> row_lines;          // 1-based physical line where each row starts

  // Index of a column by exact name, or -1.
  int column(std::string_view name) const;
  // Like column(), but a missing column is an input error naming the file and listing the header.
  int require_column(std::string_view name) const;
  // "file:line" of a row, for messages.
  std::string where(size_t row) const;
};

// Parses CSV text. Throws ziq input errors "path:line:column: why" for malformed quoting, rows with
// the wrong number of fields (all listed), empty or duplicated column names.
CsvTable parse_csv(std::string_view text, const std::string& path);
CsvTable read_csv(const std::string& path);

// A cell as a finite number: surrounding spaces allowed, "" gives nullopt (missing); anything else
// that is not a whole decimal number (e.g. "n/a", "1,5", "inf") gives nullopt with *bad = true.
std::optional<double> parse_number(std::string_view cell, bool* bad);

// Writing: quotes a field only when it holds a comma, quote, CR or LF.
std::string csv_field(std::string_view s);
std::string csv_line(const std::vector<std::string>& fields);  // ends with "\n"

}  // namespace ziq::analysis
