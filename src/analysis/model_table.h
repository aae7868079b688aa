// A table of per-model values keyed by model name: the scores file, a BPC file, or the BPC figures
// of the results store. Every row remembers where it came from ("file.csv:12", "run 7"), so every
// message about it can point there, and every row left out is kept with the reason.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "analysis/csv.h"
#include "store/results.h"

namespace ziq::analysis {

struct ModelRow {
  std::string name;
  std::string origin;              // "file.csv:12" or "run 7"
  std::vector<std::string> cells;  // aligned with ModelTable::columns; "" = missing
};

// A row (or a model) that was not used, and why.
struct RowIssue {
  std::string model;
  std::string origin;
  std::string reason;
  bool filtered = false;  // left out by a --where filter (summarized, not listed one by one, in text)
};

struct ModelTable {
  std::string source;  // the file path, or "results store <path>"
  std::string name_column;
  std::vector<std::string> columns;
  std::vector<ModelRow> rows;
  std::vector<RowIssue> skipped;   // rows not taken into the table, with the reason
  std::vector<std::string> notes;  // remarks for the user (e.g. which run gave which figure)
  std::vector<std::pair<std::string, std::string>> where;  // the filters applied
  std::string protocol;  // how the BPC was computed, as far as known (for reports)

  int column(const std::string& name) const;
  const ModelRow* find(const std::string& model) const;
};

// Which rows of a CSV file to take: the model-name column ("" = the first of model, model_key,
// model_name, name that exists) and COLUMN=VALUE filters that must all hold.
struct CsvSelection {
  std::string name_column;
  std::vector<std::pair<std::string, std::string>> where;
};

std::pair<std::string, std::string> parse_where(const std::string& spec);  // "COL=VALUE"

// The model-name column: `requested` if given (input error if absent), else the first of model,
// model_key, model_name, name that exists (input error if none).
int find_name_column(const CsvTable& csv, const std::string& requested);

// Rows without a name are skipped (and listed); a name on two kept rows is an input error listing
// every line of each duplicated name, because a join on it would be ambiguous.
ModelTable model_table_from_csv(const CsvTable& csv, const CsvSelection& selection);

// BPC from the store: one row per model name, one column bpc_<subset> per subset (the pooled
// subset '*' as bpc_overall). Runs with status running are left out. When several runs of the
// same corpus (fingerprint) and protocol give a model the same subset, the latest run (highest id)
// wins and a note says which it shadowed; runs of different corpora or protocols are an input
// error listing them (choose with the filter). A note names the run(s) each model's BPC came from.
ModelTable model_table_from_store(store::ResultsStore& store, const store::RunFilter& filter);

// The column name under which the store's subset appears ("cc" -> "bpc_cc", "*" -> "bpc_overall").
std::string bpc_column_for_subset(const std::string& subset);

// A column or the mean of columns: "knowledge_avg" or "mean(bpc_cc,bpc_python,bpc_arxiv_math)".
struct ColumnExpr {
  std::string text;
  std::vector<std::string> columns;  // one for a plain column; several under mean(...)
  bool is_mean = false;
};
ColumnExpr parse_column_expr(const std::string& text);  // usage_error on bad syntax

// The value of an expression on a row: a number, or missing (with the reason), or bad (a
// non-numeric cell: the reason names the file, line and column).
struct CellValue {
  std::optional<double> value;
  std::string missing_reason;  // set when a cell is empty
  std::string bad_reason;      // set when a cell is not a number
};
CellValue evaluate(const ModelTable& table, const ModelRow& row, const ColumnExpr& expr);
bool has_columns(const ModelTable& table, const ColumnExpr& expr, std::string* first_missing = nullptr);

}  // namespace ziq::analysis
