#include "store/eval_progress.h"

#include <fmt/format.h>

#include "core/error.h"

namespace ziq::store {

std::string run_key_hash(std::string_view key_text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : key_text) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return fmt::format("{:016x}", h);
}

EvalProgress::EvalProgress(Database& db, std::string key_json)
    : db_(db), key_(run_key_hash(key_json)), key_json_(std::move(key_json)) {
  // FULL: a committed batch survives a power loss, not only a killed process.
  db_.exec("PRAGMA synchronous=FULL");
  db_.exec(
      "CREATE TABLE IF NOT EXISTS eval_progress_runs("
      " run_key TEXT PRIMARY KEY, key_json TEXT NOT NULL,"
      " created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
      " updated_at TEXT, completed_at TEXT);"
      "CREATE TABLE IF NOT EXISTS eval_progress_windows("
      " run_key TEXT NOT NULL REFERENCES eval_progress_runs(run_key) ON DELETE CASCADE,"
      " subset TEXT NOT NULL, window INTEGER NOT NULL, nats REAL NOT NULL,"
      " PRIMARY KEY(run_key, subset, window)) WITHOUT ROWID;");
  db_.transaction([&] {
    auto q = db_.prepare("SELECT key_json FROM eval_progress_runs WHERE run_key = ?");
    q.bind(1, key_);
    if (q.step()) {
      if (q.column_text(0) != key_json_)
        internal_error("{}: run key {} is already used by a different run ({}); use another --db",
                       db_.path(), key_, q.column_text(0));
      return;
    }
    auto ins = db_.prepare("INSERT INTO eval_progress_runs(run_key, key_json) VALUES(?, ?)");
    ins.bind(1, key_).bind(2, key_json_);
    ins.step();
  });
}

std::vector<std::pair<int64_t, double>> EvalProgress::finished(const std::string& subset) {
  auto q = db_.prepare(
      "SELECT window, nats FROM eval_progress_windows WHERE run_key = ? AND subset = ? ORDER BY window");
  q.bind(1, key_).bind(2, subset);
  std::vector<std::pair<int64_t, double>> out;
  while (q.step()) out.emplace_back(q.column_int(0), q.column_double(1));
  return out;
}

void EvalProgress::commit(const std::string& subset, std::span<const std::pair<int64_t, double>> windows) {
  db_.transaction([&] {
    auto ins = db_.prepare(
        "INSERT OR REPLACE INTO eval_progress_windows(run_key, subset, window, nats) VALUES(?, ?, ?, ?)");
    for (auto& [w, nats] : windows) {
      ins.bind(1, key_).bind(2, subset).bind(3, w).bind(4, nats);
      ins.step();
      ins.reset();
    }
    auto up = db_.prepare(
        "UPDATE eval_progress_runs SET updated_at = strftime('%Y-%m-%dT%H:%M:%SZ','now') WHERE run_key = ?");
    up.bind(1, key_);
    up.step();
  });
}

int64_t EvalProgress::stored_windows() {
  auto q = db_.prepare("SELECT count(*) FROM eval_progress_windows WHERE run_key = ?");
  q.bind(1, key_);
  return q.step() ? q.column_int(0) : 0;
}

void EvalProgress::clear() {
  db_.transaction([&] {
    auto del = db_.prepare("DELETE FROM eval_progress_windows WHERE run_key = ?");
    del.bind(1, key_);
    del.step();
    auto up = db_.prepare("UPDATE eval_progress_runs SET completed_at = NULL WHERE run_key = ?");
    up.bind(1, key_);
    up.step();
  });
}

void EvalProgress::mark_completed() {
  auto up = db_.prepare(
      "UPDATE eval_progress_runs SET completed_at = strftime('%Y-%m-%dT%H:%M:%SZ','now') WHERE run_key = ?");
  up.bind(1, key_);
  up.step();
}

}  // namespace ziq::store
