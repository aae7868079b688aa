// The results store: every evaluation run (who, on what, how, when) and its figures per corpus
// subset, in one SQLite file. The schema is documented in docs/results-schema.md; it is versioned
// with SQLite's user_version pragma and migrated forward when a store is opened.
//
// A run is written in one transaction with all its subsets, so a reader never sees half a run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/db.h"

namespace ziq::store {

// The subset name of the row that covers the whole corpus (all subsets pooled).
inline constexpr const char* kOverallSubset = "*";

struct SubsetFigures {
  std::string subset;                    // e.g. "cc", "python"; kOverallSubset for the pooled row
  std::optional<double> bpc;             // bits per Unicode character
  std::optional<double> bits_per_byte;   // bits per UTF-8 byte
  std::optional<int64_t> characters;     // Unicode code points of the non-empty documents
  std::optional<int64_t> bytes;          // UTF-8 bytes of the non-empty documents
  std::optional<int64_t> documents;      // non-empty documents
  std::optional<int64_t> empty_documents;
  std::optional<int64_t> tokens;         // tokens in the stream(s)
  std::optional<int64_t> scored_tokens;  // targets whose loss counts
  std::optional<double> nats;            // sum of -ln p over scored targets
  std::optional<int64_t> windows;
  std::string note;                      // e.g. "corpus shorter than one window"
};

enum class RunStatus { running, finished, imported };
std::string run_status_name(RunStatus s);
RunStatus parse_run_status(const std::string& s);  // internal_error on unknown names

struct RunRecord {
  int64_t id = 0;            // assigned by the store
  std::string run_key;       // identifies the configuration (model, corpus, protocol, tokenizer)
  std::string model_name;
  std::string model_path;
  std::string model_fingerprint;
  std::string model_architecture;
  std::string model_dtype;
  std::string corpus_name;
  std::string corpus_fingerprint;
  std::string protocol;      // "paper", "full", "doc", or "" when unknown (imports)
  std::optional<int64_t> context;
  std::optional<int64_t> stride;
  std::string tokenizer_kind;
  std::string tokenizer_fingerprint;
  std::string backend;
  std::string ziq_version = ZIQ_VERSION;
  std::string started_at;    // UTC ISO 8601, e.g. "2026-11-30T01:12:00Z"
  std::string finished_at;
  RunStatus status = RunStatus::finished;
  std::string source = "ziq";  // "ziq" or "imported:<file>"
  std::string notes;           // free text (for imports: where the row came from)
  std::vector<SubsetFigures> subsets;

  // The figures of one subset, or nullptr.
  const SubsetFigures* find_subset(const std::string& name) const;
};

struct RunFilter {
  std::string model;     // substring of model_name (case-insensitive); empty = any
  std::string corpus;    // substring of corpus_name (case-insensitive)
  std::string protocol;  // exact protocol name
  std::string corpus_fingerprint;  // prefix of corpus_fingerprint
  std::string source;    // substring of source
  std::optional<RunStatus> status;
};

// Current UTC time as ISO 8601 with seconds and a Z suffix.
std::string utc_now_iso8601();

// $ZIQ_DB, else $XDG_DATA_HOME/ziq/results.sqlite, else ~/.local/share/ziq/results.sqlite.
std::string default_results_path();

class ResultsStore {
 public:
  static constexpr int kSchemaVersion = 1;

  // Opens (creating the file and folder if needed) and brings the schema up to date. read_only:
  // an existing store, for reading (listing, analysis), even without write permission.
  explicit ResultsStore(const std::string& path, bool read_only = false);

  const std::string& path() const { return db_.path(); }
  Database& database() { return db_; }

  // Writes a run with status finished or imported and all its subsets in one transaction;
  // returns its id. finished_at defaults to now.
  int64_t insert_finished_run(const RunRecord& run);

  // For long evaluations: a row with status running (no subsets) now, then finish_run writes the
  // figures and flips the status in one transaction.
  int64_t insert_running_run(const RunRecord& run);
  void finish_run(int64_t id, const std::vector<SubsetFigures>& subsets, const std::string& finished_at = "");

  // Replaces every run whose source equals `source` by `runs`, in one transaction, so importing
  // the same file twice leaves one copy. Returns the number of runs removed.
  int64_t replace_runs_from_source(const std::string& source, const std::vector<RunRecord>& runs);

  // Deletes the runs with these ids and their subsets in one transaction (resumable progress stays);
  // returns how many existed.
  int64_t delete_runs(const std::vector<int64_t>& ids);
  // Finished runs that a later finished run of the same run key supersedes (identical reruns).
  std::vector<int64_t> superseded_runs();

  // Runs matching the filter, oldest first, with their subsets.
  std::vector<RunRecord> list_runs(const RunFilter& filter = {});

  int schema_version();

 private:
  void migrate();
  int64_t insert_run_row(const RunRecord& run);
  void insert_subsets(int64_t run_id, const std::vector<SubsetFigures>& subsets);

  Database db_;
};

}  // namespace ziq::store
