#include "analysis/model_table.h"

#include <map>

#include "core/error.h"

namespace ziq::analysis {

int ModelTable::column(const std::string& name) const {
  for (size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == name) return static_cast<int>(i);
  return -1;
}

const ModelRow* ModelTable::find(const std::string& model) const {
  for (auto& r : rows)
    if (r.name == model) return &r;
  return nullptr;
}

std::pair<std::string, std::string> parse_where(const std::string& spec) {
  auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0)
    usage_error("--where '{}': expected COLUMN=VALUE", spec);
  return {spec.substr(0, eq), spec.substr(eq + 1)};
}

int find_name_column(const CsvTable& csv, const std::string& requested) {
  if (!requested.empty()) return csv.require_column(requested);
  for (const char* c : {"model", "model_key", "model_name", "name"})
    if (int i = csv.column(c); i >= 0) return i;
  input_error("{}:{}: no model-name column (looked for model, model_key, model_name, name); "
              "name it with --name-column", csv.path, csv.header_line);
}

namespace {
std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}
}  // namespace

ModelTable model_table_from_csv(const CsvTable& csv, const CsvSelection& sel) {
  ModelTable t;
  t.source = csv.path;
  t.columns = csv.header;
  t.where = sel.where;
  int name_col = find_name_column(csv, sel.name_column);
  t.name_column = csv.header[name_col];
  t.protocol = "not recorded in " + csv.path + " (figures computed elsewhere, not by ziq)";
  std::vector<std::pair<int, std::string>> filters;
  for (auto& [col, value] : sel.where) filters.push_back({csv.require_column(col), value});

  std::map<std::string, std::vector<std::string>> lines_of;
  for (size_t i = 0; i < csv.rows.size(); ++i) {
    const auto& cells = csv.rows[i];
    std::string name = trim(cells[name_col]);
    bool keep = true;
    for (auto& [c, value] : filters)
      if (cells[c] != value) {
        t.skipped.push_back({name, csv.where(i), fmt::format("{} is '{}', not '{}' (--where)", csv.header[c], cells[c], value), true});
        keep = false;
        break;
      }
    if (!keep) continue;
    if (name.empty()) {
      t.skipped.push_back({name, csv.where(i), fmt::format("no model name (column {} is empty)", t.name_column)});
      continue;
    }
    lines_of[name].push_back(csv.where(i));
    t.rows.push_back({name, csv.where(i), cells});
  }
  std::string dups;
  for (auto& [name, where] : lines_of)
    if (where.size() > 1) {
      dups += fmt::format("\n  '{}' on", name);
      for (auto& w : where) dups += " " + w;
    }
  if (!dups.empty())
    input_error("{}: model names appear more than once (in column {}), so joining on them is ambiguous; "
                "select rows with --where COLUMN=VALUE or fix the file:{}", csv.path, t.name_column, dups);
  return t;
}

std::string bpc_column_for_subset(const std::string& subset) {
  return subset == store::kOverallSubset ? "bpc_overall" : "bpc_" + subset;
}

ModelTable model_table_from_store(store::ResultsStore& st, const store::RunFilter& filter) {
  ModelTable t;
  t.source = "results store " + st.path();
  t.name_column = "model_name";
  struct Cell {
    double bpc;
    int64_t run;
    std::vector<int64_t> shadowed;
  };
  std::map<std::string, std::map<std::string, Cell>> by_model;  // model -> column -> cell
  std::vector<std::string> order;
  std::map<std::string, bool> protocols;
  // What a run's BPC was measured on: two runs of one model with different answers cannot stand in
  // for one another (a later run on another corpus or protocol must not replace the figure).
  std::map<int64_t, std::string> measured_on;
  std::vector<std::string> conflicts;
  for (auto& run : st.list_runs(filter)) {
    if (run.status == store::RunStatus::running) {
      t.skipped.push_back({run.model_name, fmt::format("run {}", run.id), "still running (no figures yet)"});
      continue;
    }
    if (!by_model.count(run.model_name)) order.push_back(run.model_name);
    std::string how = run.protocol.empty() ? "protocol not recorded" : "protocol " + run.protocol;
    if (run.context && run.stride) how += fmt::format(" (context {}, stride {})", *run.context, *run.stride);
    how += run.status == store::RunStatus::imported ? ", imported from " + run.source.substr(9) : ", computed by ziq";
    protocols[how] = true;
    measured_on[run.id] =
        fmt::format("corpus {} (fingerprint {}), {}", run.corpus_name.empty() ? "not recorded" : run.corpus_name,
                    run.corpus_fingerprint.empty() ? "none" : run.corpus_fingerprint, how);
    auto& cols = by_model[run.model_name];
    for (auto& s : run.subsets) {
      if (!s.bpc) continue;
      std::string col = bpc_column_for_subset(s.subset);
      if (t.column(col) < 0) t.columns.push_back(col);
      auto it = cols.find(col);
      if (it == cols.end()) {
        cols[col] = {*s.bpc, run.id, {}};
      } else {  // runs come oldest first: the later one wins, when it measured the same thing
        if (measured_on[it->second.run] != measured_on[run.id] && conflicts.size() < 6)
          conflicts.push_back(fmt::format("{} {}: run {} on {}; run {} on {}", run.model_name, col, it->second.run,
                                          measured_on[it->second.run], run.id, measured_on[run.id]));
        it->second.shadowed.push_back(it->second.run);
        it->second.bpc = *s.bpc;
        it->second.run = run.id;
      }
    }
  }
  if (!conflicts.empty()) {
    std::string list;
    for (auto& c : conflicts) list += "\n  " + c;
    input_error("{}: runs of the same model measured on different corpora or protocols; choose one with "
                "--corpus, --corpus-fingerprint or --protocol (or remove runs with `ziq results delete`):{}",
                st.path(), list);
  }
  for (auto& [how, _] : protocols) t.protocol += (t.protocol.empty() ? "" : "; ") + how;
  if (protocols.size() > 1) t.protocol = "mixed: " + t.protocol;
  std::string used;
  for (auto& name : order) {
    ModelRow row{name, "", std::vector<std::string>(t.columns.size())};
    std::map<int64_t, bool> runs;
    for (auto& [col, cell] : by_model[name]) {
      row.cells[t.column(col)] = fmt::format("{}", cell.bpc);
      runs[cell.run] = true;
      for (int64_t old : cell.shadowed)
        t.notes.push_back(fmt::format("{}: {} from run {} (later) used, run {} not used", name, col, cell.run, old));
    }
    for (auto& [id, _] : runs) row.origin += (row.origin.empty() ? "run " : "+") + std::to_string(id);
    if (!row.origin.empty()) used += (used.empty() ? "" : ", ") + name + " (" + row.origin + ")";
    if (row.origin.empty()) {
      t.skipped.push_back({name, "results store", "no BPC figures in its runs"});
      continue;
    }
    t.rows.push_back(std::move(row));
  }
  if (!used.empty()) t.notes.push_back("BPC of each model from: " + used);
  return t;
}

ColumnExpr parse_column_expr(const std::string& text) {
  ColumnExpr e;
  e.text = trim(text);
  if (e.text.rfind("mean(", 0) == 0) {
    if (e.text.back() != ')') usage_error("'{}': expected mean(COLUMN,COLUMN,...)", text);
    e.is_mean = true;
    std::string inner = e.text.substr(5, e.text.size() - 6);
    size_t start = 0;
    for (;;) {
      size_t comma = inner.find(',', start);
      std::string c = trim(inner.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (c.empty()) usage_error("'{}': empty column name inside mean(...)", text);
      e.columns.push_back(c);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  } else {
    if (e.text.empty()) usage_error("empty column name");
    e.columns.push_back(e.text);
  }
  return e;
}

bool has_columns(const ModelTable& table, const ColumnExpr& expr, std::string* first_missing) {
  for (auto& c : expr.columns)
    if (table.column(c) < 0) {
      if (first_missing) *first_missing = c;
      return false;
    }
  return true;
}

CellValue evaluate(const ModelTable& table, const ModelRow& row, const ColumnExpr& expr) {
  CellValue out;
  double sum = 0;
  for (auto& c : expr.columns) {
    int i = table.column(c);
    if (i < 0) internal_error("evaluate: column {} not in {}", c, table.source);
    bool bad = false;
    auto v = parse_number(row.cells[i], &bad);
    if (bad) {
      out.bad_reason = fmt::format("{}: column '{}' (field {}): '{}' is not a number", row.origin, c, i + 1, row.cells[i]);
      return out;
    }
    if (!v) {
      if (out.missing_reason.empty()) out.missing_reason = c + " is empty";
      else out.missing_reason += ", " + c + " is empty";
      continue;
    }
    sum += *v;
  }
  if (out.missing_reason.empty()) out.value = sum / static_cast<double>(expr.columns.size());
  return out;
}

}  // namespace ziq::analysis
