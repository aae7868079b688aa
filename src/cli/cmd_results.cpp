// `ziq results`: lists the runs of the results store (one row per run, the BPC of each subset as a
// column), filtered by model, corpus, protocol; as a table, CSV or JSON.
// `ziq results import FILE.csv`: brings in a BPC table made elsewhere (such as the paper's), one
// imported run per row, replacing an earlier import of the same file and selection.
// `ziq results delete ID...` (or --superseded): removes runs, saying which.
#include <algorithm>
#include <filesystem>
#include <map>

#include "analysis/csv.h"
#include "analysis/model_table.h"
#include "cli/command.h"
#include "cli/output.h"
#include "core/error.h"
#include "store/results.h"

namespace ziq::cli {
namespace {

struct ListArgs {
  std::string db, format = "table", status;
  store::RunFilter filter;
};

struct DeleteArgs {
  std::string db;
  std::vector<int64_t> ids;
  bool superseded = false;
};

struct ImportArgs {
  std::string db, file, name_column, protocol, corpus, model_prefix;
  std::vector<std::string> where, bpc_columns;
  int64_t context = 0, stride = 0;
};

std::string opt_str(const std::optional<double>& v) { return v ? fmt::format("{}", *v) : ""; }

nlohmann::json opt_json(const std::optional<int64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }
nlohmann::json opt_json(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

// An import's source: the file, and the --where selection when there is one ("imported:<path>
// where col=v, col=v", clauses sorted), so that importing other rows of the same file adds to the
// store, and importing the same selection again replaces only what that selection imported.
constexpr std::string_view kWhereSeparator = " where ";

std::string import_source(const std::string& file, std::vector<std::string> where) {
  std::string source = "imported:" + std::filesystem::weakly_canonical(file).string();
  std::sort(where.begin(), where.end());
  where.erase(std::unique(where.begin(), where.end()), where.end());
  for (size_t i = 0; i < where.size(); ++i) source += (i ? ", " : std::string(kWhereSeparator)) + where[i];
  return source;
}

std::string short_source(const std::string& s) {
  if (s.rfind("imported:", 0) != 0) return s;
  const size_t sel = s.find(kWhereSeparator);
  const std::string file = s.substr(9, sel == std::string::npos ? std::string::npos : sel - 9);
  return "imported:" + std::filesystem::path(file).filename().string() + (sel == std::string::npos ? "" : s.substr(sel));
}

std::string protocol_text(const store::RunRecord& r) {
  if (r.protocol.empty()) return "";
  if (r.context && r.stride) return fmt::format("{} C={} s={}", r.protocol, *r.context, *r.stride);
  return r.protocol;
}

nlohmann::json run_json(const store::RunRecord& r) {
  nlohmann::json subsets = nlohmann::json::array();
  for (auto& s : r.subsets)
    subsets.push_back({{"subset", s.subset}, {"bpc", opt_json(s.bpc)}, {"bits_per_byte", opt_json(s.bits_per_byte)},
                       {"characters", opt_json(s.characters)}, {"bytes", opt_json(s.bytes)},
                       {"documents", opt_json(s.documents)}, {"empty_documents", opt_json(s.empty_documents)},
                       {"tokens", opt_json(s.tokens)}, {"scored_tokens", opt_json(s.scored_tokens)},
                       {"nats", opt_json(s.nats)}, {"windows", opt_json(s.windows)}, {"note", s.note}});
  return {{"id", r.id}, {"run_key", r.run_key}, {"model_name", r.model_name}, {"model_path", r.model_path},
          {"model_fingerprint", r.model_fingerprint}, {"model_architecture", r.model_architecture},
          {"model_dtype", r.model_dtype}, {"corpus_name", r.corpus_name}, {"corpus_fingerprint", r.corpus_fingerprint},
          {"protocol", r.protocol}, {"context", opt_json(r.context)}, {"stride", opt_json(r.stride)},
          {"tokenizer_kind", r.tokenizer_kind}, {"tokenizer_fingerprint", r.tokenizer_fingerprint},
          {"backend", r.backend}, {"ziq_version", r.ziq_version}, {"started_at", r.started_at},
          {"finished_at", r.finished_at}, {"status", store::run_status_name(r.status)}, {"source", r.source},
          {"notes", r.notes}, {"subsets", subsets}};
}

void list_runs(const ListArgs& a, const GlobalOptions& global) {
  std::string path = a.db.empty() ? store::default_results_path() : a.db;
  if (!std::filesystem::exists(path)) {  // nothing stored yet: an empty list, and no file made by a read
    if (global.json) print_json({{"db", path}, {"runs", nlohmann::json::array()}});
    else if (!global.quiet) std::fprintf(stderr, "no results store at %s yet (`ziq eval` or `ziq results import` makes one)\n", path.c_str());
    return;
  }
  store::ResultsStore st(path, /*read_only=*/true);
  store::RunFilter filter = a.filter;
  if (!a.status.empty()) {
    if (a.status != "running" && a.status != "finished" && a.status != "imported")
      usage_error("--status must be running, finished or imported, not '{}'", a.status);
    filter.status = store::parse_run_status(a.status);
  }
  auto runs = st.list_runs(filter);
  std::string format = global.json ? "json" : a.format;
  if (format == "json") {
    nlohmann::json j = {{"db", path}, {"runs", nlohmann::json::array()}};
    for (auto& r : runs) j["runs"].push_back(run_json(r));
    print_json(j);
    return;
  }
  // Subset columns in order of first appearance, the pooled '*' last.
  std::vector<std::string> subsets;
  bool pooled = false;
  for (auto& r : runs)
    for (auto& s : r.subsets) {
      if (s.subset == store::kOverallSubset) pooled = true;
      else if (std::find(subsets.begin(), subsets.end(), s.subset) == subsets.end()) subsets.push_back(s.subset);
    }
  if (pooled) subsets.push_back(store::kOverallSubset);
  auto subset_header = [](const std::string& s) { return analysis::bpc_column_for_subset(s); };
  if (format == "csv") {
    std::vector<std::string> header = {"id", "model", "corpus", "protocol", "context", "stride", "tokenizer", "backend",
                                       "dtype", "status", "source", "started_at", "finished_at", "ziq_version"};
    for (auto& s : subsets) header.push_back(subset_header(s));
    std::string out = analysis::csv_line(header);
    for (auto& r : runs) {
      std::vector<std::string> row = {std::to_string(r.id), r.model_name, r.corpus_name, r.protocol,
                                      r.context ? std::to_string(*r.context) : "", r.stride ? std::to_string(*r.stride) : "",
                                      r.tokenizer_kind, r.backend, r.model_dtype, store::run_status_name(r.status),
                                      r.source, r.started_at, r.finished_at, r.ziq_version};
      for (auto& s : subsets) {
        auto* f = r.find_subset(s);
        row.push_back(f ? opt_str(f->bpc) : "");
      }
      out += analysis::csv_line(row);
    }
    std::fputs(out.c_str(), stdout);
    return;
  }
  if (format != "table") usage_error("--format must be table, csv or json, not '{}'", format);
  std::vector<std::string> header = {"id", "model", "corpus", "protocol", "status", "source", "finished"};
  for (auto& s : subsets) header.push_back(subset_header(s));
  Table t(header);
  for (auto& r : runs) {
    std::vector<std::string> row = {std::to_string(r.id), r.model_name, r.corpus_name, protocol_text(r),
                                    store::run_status_name(r.status), short_source(r.source), r.finished_at};
    for (auto& s : subsets) {
      auto* f = r.find_subset(s);
      row.push_back(f && f->bpc ? fixed(*f->bpc, 4) : "");
    }
    t.add(row);
  }
  t.print();
  if (!global.quiet) std::fprintf(stderr, "%zu run(s) in %s\n", runs.size(), path.c_str());
}

void import_table(const ImportArgs& a, const GlobalOptions& global) {
  analysis::CsvTable csv = analysis::read_csv(a.file);
  analysis::CsvSelection sel;
  sel.name_column = a.name_column;
  for (auto& w : a.where) sel.where.push_back(analysis::parse_where(w));
  // Duplicated names are legitimate here (one run per row, e.g. the same model from two sources):
  // they are reported as warnings, not refused as in a join.
  std::map<std::string, std::vector<std::string>> lines_of;

  // Which columns hold BPC: --bpc-column SUBSET=COLUMN, else every column named bpc_<subset>.
  std::vector<std::pair<std::string, int>> bpc_cols;
  for (auto& spec : a.bpc_columns) {
    auto [subset, col] = analysis::parse_where(spec);
    bpc_cols.push_back({subset, csv.require_column(col)});
  }
  if (bpc_cols.empty())
    for (size_t c = 0; c < csv.header.size(); ++c)
      if (csv.header[c].rfind("bpc_", 0) == 0 && csv.header[c].size() > 4)
        bpc_cols.push_back({csv.header[c].substr(4), static_cast<int>(c)});
  if (bpc_cols.empty())
    input_error("{}:{}: no BPC columns (named bpc_<subset>); name them with --bpc-column SUBSET=COLUMN", a.file,
                csv.header_line);

  int name_col = analysis::find_name_column(csv, a.name_column);
  std::vector<std::pair<int, std::string>> filters;
  for (auto& [col, v] : sel.where) filters.push_back({csv.require_column(col), v});

  const std::string source = import_source(a.file, a.where);
  std::string now = store::utc_now_iso8601();
  std::vector<store::RunRecord> runs;
  std::vector<std::string> bad, skipped, partial;
  size_t filtered = 0;
  for (size_t i = 0; i < csv.rows.size(); ++i) {
    const auto& cells = csv.rows[i];
    bool keep = true;
    for (auto& [c, v] : filters) keep &= cells[c] == v;
    if (!keep) {
      ++filtered;
      continue;
    }
    std::string name = cells[name_col];
    if (name.empty()) {
      skipped.push_back(fmt::format("{}: no model name (column {} empty)", csv.where(i), csv.header[name_col]));
      continue;
    }
    store::RunRecord r;
    r.model_name = a.model_prefix + name;
    r.run_key = fmt::format("import:{}:{}", std::filesystem::path(a.file).filename().string(), r.model_name);
    r.corpus_name = a.corpus;
    r.protocol = a.protocol;
    if (a.context > 0) r.context = a.context;
    if (a.stride > 0) r.stride = a.stride;
    r.status = store::RunStatus::imported;
    r.started_at = r.finished_at = now;
    r.notes = csv.where(i);
    std::string empty;
    for (auto& [subset, c] : bpc_cols) {
      bool is_bad = false;
      auto v = analysis::parse_number(cells[c], &is_bad);
      if (is_bad) {
        bad.push_back(fmt::format("{}: column '{}' (field {}): '{}' is not a number", csv.where(i), csv.header[c], c + 1, cells[c]));
        continue;
      }
      if (!v) {
        empty += (empty.empty() ? "" : ", ") + csv.header[c];
        continue;
      }
      if (*v <= 0) {
        bad.push_back(fmt::format("{}: column '{}' (field {}): {} is not a positive BPC", csv.where(i), csv.header[c], c + 1, *v));
        continue;
      }
      store::SubsetFigures f;
      f.subset = subset;
      f.bpc = v;
      r.subsets.push_back(f);
    }
    if (r.subsets.empty()) {
      skipped.push_back(fmt::format("{}: {}: no BPC value (all of its BPC columns are empty)", csv.where(i), name));
      continue;
    }
    if (!empty.empty()) partial.push_back(fmt::format("{}: {}: empty {}", csv.where(i), name, empty));
    lines_of[r.model_name].push_back(csv.where(i));
    runs.push_back(std::move(r));
  }
  if (!bad.empty()) {
    std::string msg = fmt::format("{} bad value(s); nothing imported:", bad.size());
    for (auto& b : bad) msg += "\n  " + b;
    throw Error(ErrorKind::input, msg);
  }
  std::string path = a.db.empty() ? store::default_results_path() : a.db;
  store::ResultsStore st(path);
  int64_t removed = st.replace_runs_from_source(source, runs);
  // Runs imported from the same file with another selection are kept: say so.
  const std::string file_source = import_source(a.file, {});
  std::map<std::string, int64_t> kept;
  store::RunFilter same_file;
  same_file.source = file_source;
  for (auto& r : st.list_runs(same_file))
    if (r.source != source && (r.source == file_source || r.source.rfind(file_source + std::string(kWhereSeparator), 0) == 0))
      ++kept[r.source];

  std::vector<std::string> dups;
  for (auto& [name, where] : lines_of)
    if (where.size() > 1) {
      std::string d = fmt::format("{} on", name);
      for (auto& w : where) d += " " + w;
      dups.push_back(d + " (each imported as its own run)");
    }
  if (global.json) {
    nlohmann::json others = nlohmann::json::object();
    for (auto& [s, n] : kept) others[s] = n;
    print_json({{"db", path}, {"source", source}, {"imported", runs.size()}, {"replaced", removed},
                {"kept_from_other_imports", others},
                {"left_out_by_where", filtered}, {"skipped", skipped}, {"partial", partial}, {"duplicated_names", dups}});
    return;
  }
  std::printf("imported %zu run(s) from %s into %s as %s%s\n", runs.size(), a.file.c_str(), path.c_str(),
              short_source(source).c_str(),
              removed ? fmt::format(" (replacing the {} run(s) an earlier import of the same file and selection made)",
                                    removed).c_str()
                      : "");
  if (global.quiet) return;
  for (auto& [s, n] : kept)
    std::fprintf(stderr, "note: kept %lld run(s) imported from the same file as %s\n", static_cast<long long>(n),
                 short_source(s).c_str());
  if (filtered) std::fprintf(stderr, "note: %zu row(s) left out by --where\n", filtered);
  for (auto& s : skipped) std::fprintf(stderr, "skipped: %s\n", s.c_str());
  for (auto& s : partial) std::fprintf(stderr, "partial: %s\n", s.c_str());
  for (auto& s : dups) std::fprintf(stderr, "warning: model name repeated: %s\n", s.c_str());
}

void delete_runs(const DeleteArgs& a, const GlobalOptions& global) {
  if (a.ids.empty() && !a.superseded) usage_error("results delete: give run ids, or --superseded");
  const std::string path = a.db.empty() ? store::default_results_path() : a.db;
  if (!std::filesystem::exists(path)) input_error("{}: no results store here", path);
  store::ResultsStore st(path);
  std::vector<int64_t> ids = a.ids;
  if (a.superseded)
    for (int64_t id : st.superseded_runs()) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  // Say what goes, before it goes; an id that is not there is an error, and nothing is deleted.
  std::map<int64_t, store::RunRecord> found;
  for (auto& r : st.list_runs()) found[r.id] = r;
  for (int64_t id : ids)
    if (!found.count(id)) input_error("{}: no run with id {} (see `ziq results`); nothing deleted", path, id);
  const int64_t removed = st.delete_runs(ids);
  if (global.json) {
    print_json({{"db", path}, {"deleted", ids}});
    return;
  }
  for (int64_t id : ids) {
    const auto& r = found[id];
    std::printf("deleted run %lld: %s on %s (%s, %s, %s)\n", static_cast<long long>(id), r.model_name.c_str(),
                r.corpus_name.c_str(), protocol_text(r).c_str(), store::run_status_name(r.status).c_str(),
                r.finished_at.c_str());
  }
  if (!global.quiet) std::fprintf(stderr, "%lld run(s) deleted from %s\n", static_cast<long long>(removed), path.c_str());
}

void setup(CLI::App& sub, const GlobalOptions& global) {
  auto list = std::make_shared<ListArgs>();
  sub.add_option("--db", list->db, "Results store (default $ZIQ_DB, else $XDG_DATA_HOME/ziq/results.sqlite, else ~/.local/share/ziq/results.sqlite)");
  sub.add_option("--model", list->filter.model, "Only models whose name contains this (case-insensitive)");
  sub.add_option("--corpus", list->filter.corpus, "Only runs whose corpus name contains this");
  sub.add_option("--protocol", list->filter.protocol, "Only runs of this protocol (paper, full, doc)");
  sub.add_option("--corpus-fingerprint", list->filter.corpus_fingerprint,
                 "Only runs on the corpus with this fingerprint (or its first digits)");
  sub.add_option("--source", list->filter.source, "Only runs whose source contains this (ziq, imported)");
  sub.add_option("--status", list->status, "Only runs with this status (running, finished, imported)");
  sub.add_option("--format", list->format, "table, csv or json (--json implies json)")->capture_default_str();
  sub.require_subcommand(0, 1);

  auto imp = std::make_shared<ImportArgs>();
  CLI::App* import = sub.add_subcommand("import", "Import a BPC table made elsewhere (one run per row, marked imported)");
  import->fallthrough();
  import->add_option("file", imp->file, "CSV file: a model-name column and BPC columns (bpc_<subset>)")
      ->required()->check(CLI::ExistingFile);
  import->add_option("--db", imp->db, "Results store (default as for `ziq results`)");
  import->add_option("--name-column", imp->name_column, "Model-name column (default: model, model_key, model_name or name)");
  import->add_option("--where", imp->where, "Import only rows with COLUMN=VALUE (repeatable)");
  import->add_option("--bpc-column", imp->bpc_columns, "SUBSET=COLUMN holding BPC (repeatable; default: every bpc_<subset> column)");
  import->add_option("--protocol", imp->protocol, "Protocol the table's BPC was computed with, if known (e.g. paper)");
  import->add_option("--context", imp->context, "Context window of that protocol, if known");
  import->add_option("--stride", imp->stride, "Stride of that protocol, if known");
  import->add_option("--corpus", imp->corpus, "Corpus name to record (e.g. hkust-nlp/llm-compression)");
  import->add_option("--model-prefix", imp->model_prefix, "Prefix added to every model name (to keep sources apart)");
  import->callback([imp, &global] { import_table(*imp, global); });

  auto del = std::make_shared<DeleteArgs>();
  CLI::App* remove = sub.add_subcommand("delete", "Delete runs by id (`ziq results` lists them), or identical reruns");
  remove->fallthrough();
  remove->add_option("ids", del->ids, "Ids of the runs to delete");
  remove->add_option("--db", del->db, "Results store (default as for `ziq results`)");
  remove->add_flag("--superseded", del->superseded,
                   "Delete every finished run that a later finished run of the same configuration (run key) repeats");
  remove->callback([del, &global] { delete_runs(*del, global); });

  sub.callback([list, import, remove, &global] {
    if (import->parsed() || remove->parsed()) return;
    list_runs(*list, global);
  });
}
}  // namespace
ZIQ_COMMAND("results",
            "List the runs in the results store, import a BPC table (results import FILE.csv), or delete runs "
            "(results delete ID...)",
            setup);
}  // namespace ziq::cli
