// Resumable progress of `ziq eval`: the nats of every finished window, keyed by the run's identity
// (model, tokenizer, corpus, protocol and parameters, backend, dtype). Each finished batch is one
// transaction with synchronous=FULL on a WAL database, so Ctrl-C, kill -9 or a power loss loses at
// most the batch in flight; the same command again finds the windows already done.
//
// Tables (created on first use, beside the results tables of store/results.h in the same file):
//   eval_progress_runs(run_key PK, key_json, created_at, updated_at, completed_at)
//   eval_progress_windows(run_key, subset, window, nats)  -- one row per finished window
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/db.h"

namespace ziq::store {

// A short stable hash (16 hex digits, FNV-1a 64) of a run's identity text.
std::string run_key_hash(std::string_view key_text);

class EvalProgress {
 public:
  // Registers the run (key_json is the identity as JSON text, stored beside its hash; a hash
  // collision with a different identity is refused).
  EvalProgress(Database& db, std::string key_json);

  const std::string& run_key() const { return key_; }
  std::vector<std::pair<int64_t, double>> finished(const std::string& subset);
  void commit(const std::string& subset, std::span<const std::pair<int64_t, double>> windows);
  int64_t stored_windows();
  void clear();  // forget every window of this run (--no-resume)
  void mark_completed();

 private:
  Database& db_;
  std::string key_, key_json_;
};

}  // namespace ziq::store
