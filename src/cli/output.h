// Output helpers shared by subcommands: aligned text tables for people, JSON for machines.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace ziq::cli {

// A text table: header row, then rows; columns whose every cell parses as a number are
// right-aligned. Printed with two spaces between columns.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string render() const;
  void print(FILE* out = stdout) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// Formats a double with `digits` significant decimals, fixed notation ("0.8123").
std::string fixed(double v, int decimals);

void print_json(const nlohmann::json& j, FILE* out = stdout);

}  // namespace ziq::cli
