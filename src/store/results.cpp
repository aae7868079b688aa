#include "store/results.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <ctime>

#include "core/error.h"

namespace ziq::store {
namespace {

// Version 1 of the schema. docs/results-schema.md describes every column; keep them in step.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE runs (
  id                    INTEGER PRIMARY KEY,
  run_key               TEXT NOT NULL,
  model_name            TEXT NOT NULL,
  model_path            TEXT NOT NULL DEFAULT '',
  model_fingerprint     TEXT NOT NULL DEFAULT '',
  model_architecture    TEXT NOT NULL DEFAULT '',
  model_dtype           TEXT NOT NULL DEFAULT '',
  corpus_name           TEXT NOT NULL DEFAULT '',
  corpus_fingerprint    TEXT NOT NULL DEFAULT '',
  protocol              TEXT NOT NULL DEFAULT '',
  context               INTEGER,
  stride                INTEGER,
  tokenizer_kind        TEXT NOT NULL DEFAULT '',
  tokenizer_fingerprint TEXT NOT NULL DEFAULT '',
  backend               TEXT NOT NULL DEFAULT '',
  ziq_version           TEXT NOT NULL,
  started_at            TEXT NOT NULL DEFAULT '',
  finished_at           TEXT NOT NULL DEFAULT '',
  status                TEXT NOT NULL CHECK (status IN ('running', 'finished', 'imported')),
  source                TEXT NOT NULL,
  notes                 TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_by_key ON runs(run_key);
CREATE INDEX runs_by_model ON runs(model_name);
CREATE TABLE run_subsets (
  run_id          INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  subset          TEXT NOT NULL,
  bpc             REAL,
  bits_per_byte   REAL,
  characters      INTEGER,
  bytes           INTEGER,
  documents       INTEGER,
  empty_documents INTEGER,
  tokens          INTEGER,
  scored_tokens   INTEGER,
  nats            REAL,
  windows         INTEGER,
  note            TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (run_id, subset)
);
)sql";

void bind_opt(Statement& st, int i, const std::optional<int64_t>& v) {
  if (v) st.bind(i, *v);
  else st.bind_null(i);
}

std::optional<int64_t> col_opt_int(const Statement& st, int i) {
  if (st.column_is_null(i)) return std::nullopt;
  return st.column_int(i);
}
std::optional<double> col_opt_double(const Statement& st, int i) {
  if (st.column_is_null(i)) return std::nullopt;
  return st.column_double(i);
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool contains_ci(const std::string& hay, const std::string& needle) {
  return needle.empty() || lower(hay).find(lower(needle)) != std::string::npos;
}

}  // namespace

std::string run_status_name(RunStatus s) {
  switch (s) {
    case RunStatus::running: return "running";
    case RunStatus::finished: return "finished";
    case RunStatus::imported: return "imported";
  }
  return "?";
}

RunStatus parse_run_status(const std::string& s) {
  if (s == "running") return RunStatus::running;
  if (s == "finished") return RunStatus::finished;
  if (s == "imported") return RunStatus::imported;
  internal_error("unknown run status '{}' in the results store", s);
}

const SubsetFigures* RunRecord::find_subset(const std::string& name) const {
  for (auto& s : subsets)
    if (s.subset == name) return &s;
  return nullptr;
}

std::string utc_now_iso8601() {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string default_results_path() {
  if (const char* p = std::getenv("ZIQ_DB"); p && *p) return p;
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return std::string(x) + "/ziq/results.sqlite";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.local/share/ziq/results.sqlite";
  usage_error("cannot find a place for the results store: set ZIQ_DB, XDG_DATA_HOME or HOME, or pass --db");
}

ResultsStore::ResultsStore(const std::string& path, bool read_only) : db_(path, read_only) { migrate(); }

int ResultsStore::schema_version() {
  auto st = db_.prepare("PRAGMA user_version");
  st.step();
  return static_cast<int>(st.column_int(0));
}

void ResultsStore::migrate() {
  if (db_.read_only()) {
    const int v = schema_version();
    if (v != kSchemaVersion)
      input_error("{}: results store has schema version {}, this ziq reads version {}{}", db_.path(), v, kSchemaVersion,
                  v < kSchemaVersion ? " (open it once with write access to upgrade it)" : "; use a newer ziq");
    return;
  }
  db_.transaction([&] {
    int v = schema_version();
    if (v > kSchemaVersion)
      input_error("{}: results store has schema version {}, newer than this ziq understands ({}); "
                  "use a newer ziq", db_.path(), v, kSchemaVersion);
    if (v == 0) {
      // A fresh file, or one that is not ours: refuse to touch foreign tables.
      auto st = db_.prepare("SELECT count(*) FROM sqlite_master WHERE name IN ('runs','run_subsets')");
      st.step();
      if (st.column_int(0) != 0)
        input_error("{}: has tables named runs/run_subsets but no ziq schema version", db_.path());
      db_.exec(kSchemaV1);
      db_.exec("PRAGMA user_version = 1");
    }
    // Later versions: `if (v < 2) { ALTER TABLE ...; PRAGMA user_version = 2; }`
  });
}

int64_t ResultsStore::insert_run_row(const RunRecord& r) {
  auto st = db_.prepare(
      "INSERT INTO runs (run_key, model_name, model_path, model_fingerprint, model_architecture, "
      "model_dtype, corpus_name, corpus_fingerprint, protocol, context, stride, tokenizer_kind, "
      "tokenizer_fingerprint, backend, ziq_version, started_at, finished_at, status, source, notes) "
      "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  st.bind(1, r.run_key).bind(2, r.model_name).bind(3, r.model_path).bind(4, r.model_fingerprint);
  st.bind(5, r.model_architecture).bind(6, r.model_dtype).bind(7, r.corpus_name);
  st.bind(8, r.corpus_fingerprint).bind(9, r.protocol);
  bind_opt(st, 10, r.context);
  bind_opt(st, 11, r.stride);
  st.bind(12, r.tokenizer_kind).bind(13, r.tokenizer_fingerprint).bind(14, r.backend);
  st.bind(15, r.ziq_version).bind(16, r.started_at).bind(17, r.finished_at);
  st.bind(18, run_status_name(r.status)).bind(19, r.source).bind(20, r.notes);
  st.step();
  return db_.last_insert_rowid();
}

void ResultsStore::insert_subsets(int64_t run_id, const std::vector<SubsetFigures>& subsets) {
  auto st = db_.prepare(
      "INSERT INTO run_subsets (run_id, subset, bpc, bits_per_byte, characters, bytes, documents, "
      "empty_documents, tokens, scored_tokens, nats, windows, note) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)");
  for (auto& s : subsets) {
    st.reset();
    st.bind(1, run_id).bind(2, s.subset).bind(3, s.bpc).bind(4, s.bits_per_byte);
    bind_opt(st, 5, s.characters);
    bind_opt(st, 6, s.bytes);
    bind_opt(st, 7, s.documents);
    bind_opt(st, 8, s.empty_documents);
    bind_opt(st, 9, s.tokens);
    bind_opt(st, 10, s.scored_tokens);
    st.bind(11, s.nats);
    bind_opt(st, 12, s.windows);
    st.bind(13, s.note);
    st.step();
  }
}

int64_t ResultsStore::insert_finished_run(const RunRecord& run) {
  if (run.status == RunStatus::running)
    internal_error("insert_finished_run: run of {} has status running", run.model_name);
  RunRecord r = run;
  if (r.finished_at.empty()) r.finished_at = utc_now_iso8601();
  int64_t id = 0;
  db_.transaction([&] {
    id = insert_run_row(r);
    insert_subsets(id, r.subsets);
  });
  return id;
}

int64_t ResultsStore::insert_running_run(const RunRecord& run) {
  RunRecord r = run;
  r.status = RunStatus::running;
  if (r.started_at.empty()) r.started_at = utc_now_iso8601();
  int64_t id = 0;
  db_.transaction([&] { id = insert_run_row(r); });
  return id;
}

void ResultsStore::finish_run(int64_t id, const std::vector<SubsetFigures>& subsets, const std::string& finished_at) {
  db_.transaction([&] {
    auto st = db_.prepare("UPDATE runs SET status = 'finished', finished_at = ? WHERE id = ? AND status = 'running'");
    st.bind(1, finished_at.empty() ? utc_now_iso8601() : finished_at).bind(2, id);
    st.step();
    if (sqlite3_changes(db_.handle()) != 1)
      internal_error("{}: finish_run: no running run with id {}", db_.path(), id);
    insert_subsets(id, subsets);
  });
}

int64_t ResultsStore::replace_runs_from_source(const std::string& source, const std::vector<RunRecord>& runs) {
  int64_t removed = 0;
  db_.transaction([&] {
    auto del = db_.prepare("DELETE FROM runs WHERE source = ?");
    del.bind(1, source);
    del.step();
    removed = sqlite3_changes(db_.handle());
    for (auto& run : runs) {
      RunRecord r = run;
      r.source = source;
      if (r.finished_at.empty()) r.finished_at = utc_now_iso8601();
      int64_t id = insert_run_row(r);
      insert_subsets(id, r.subsets);
    }
  });
  return removed;
}

int64_t ResultsStore::delete_runs(const std::vector<int64_t>& ids) {
  int64_t removed = 0;
  db_.transaction([&] {
    auto del = db_.prepare("DELETE FROM runs WHERE id = ?");
    for (int64_t id : ids) {
      del.reset();
      del.bind(1, id);
      del.step();
      removed += sqlite3_changes(db_.handle());
    }
  });
  return removed;
}

std::vector<int64_t> ResultsStore::superseded_runs() {
  auto st = db_.prepare(
      "SELECT id FROM runs r WHERE status = 'finished' AND EXISTS (SELECT 1 FROM runs n WHERE n.run_key = r.run_key "
      "AND n.status = 'finished' AND n.id > r.id) ORDER BY id");
  std::vector<int64_t> ids;
  while (st.step()) ids.push_back(st.column_int(0));
  return ids;
}

std::vector<RunRecord> ResultsStore::list_runs(const RunFilter& f) {
  std::vector<RunRecord> runs;
  auto st = db_.prepare(
      "SELECT id, run_key, model_name, model_path, model_fingerprint, model_architecture, model_dtype, "
      "corpus_name, corpus_fingerprint, protocol, context, stride, tokenizer_kind, tokenizer_fingerprint, "
      "backend, ziq_version, started_at, finished_at, status, source, notes FROM runs ORDER BY id");
  while (st.step()) {
    RunRecord r;
    r.id = st.column_int(0);
    r.run_key = st.column_text(1);
    r.model_name = st.column_text(2);
    r.model_path = st.column_text(3);
    r.model_fingerprint = st.column_text(4);
    r.model_architecture = st.column_text(5);
    r.model_dtype = st.column_text(6);
    r.corpus_name = st.column_text(7);
    r.corpus_fingerprint = st.column_text(8);
    r.protocol = st.column_text(9);
    r.context = col_opt_int(st, 10);
    r.stride = col_opt_int(st, 11);
    r.tokenizer_kind = st.column_text(12);
    r.tokenizer_fingerprint = st.column_text(13);
    r.backend = st.column_text(14);
    r.ziq_version = st.column_text(15);
    r.started_at = st.column_text(16);
    r.finished_at = st.column_text(17);
    r.status = parse_run_status(st.column_text(18));
    r.source = st.column_text(19);
    r.notes = st.column_text(20);
    if (!contains_ci(r.model_name, f.model) || !contains_ci(r.corpus_name, f.corpus) ||
        !contains_ci(r.source, f.source))
      continue;
    if (!f.protocol.empty() && r.protocol != f.protocol) continue;
    if (r.corpus_fingerprint.rfind(f.corpus_fingerprint, 0) != 0) continue;
    if (f.status && r.status != *f.status) continue;
    runs.push_back(std::move(r));
  }
  auto sub = db_.prepare(
      "SELECT subset, bpc, bits_per_byte, characters, bytes, documents, empty_documents, tokens, "
      "scored_tokens, nats, windows, note FROM run_subsets WHERE run_id = ? ORDER BY rowid");
  for (auto& r : runs) {
    sub.reset();
    sub.bind(1, r.id);
    while (sub.step()) {
      SubsetFigures s;
      s.subset = sub.column_text(0);
      s.bpc = col_opt_double(sub, 1);
      s.bits_per_byte = col_opt_double(sub, 2);
      s.characters = col_opt_int(sub, 3);
      s.bytes = col_opt_int(sub, 4);
      s.documents = col_opt_int(sub, 5);
      s.empty_documents = col_opt_int(sub, 6);
      s.tokens = col_opt_int(sub, 7);
      s.scored_tokens = col_opt_int(sub, 8);
      s.nats = col_opt_double(sub, 9);
      s.windows = col_opt_int(sub, 10);
      s.note = sub.column_text(11);
      r.subsets.push_back(std::move(s));
    }
  }
  return runs;
}

}  // namespace ziq::store
