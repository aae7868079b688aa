// The scorer: a corpus, a tokenizer and a language model in; nats, BPC and bits per byte per
// subset out. Each subset is its own token stream (the paper's script runs one subset at a time).
//
// Two phases, because a run's identity (for resuming) needs the corpus fingerprint, known only
// after the whole corpus is read:
//   prepare_corpus: read documents, drop empty ones (counted), count code points and UTF-8 bytes,
//                   tokenize in parallel, plan the windows of each subset with the protocol;
//   score_corpus:   run the model on batches of windows, skipping windows a WindowStore already
//                   holds, committing each finished batch to it.
// The nats of a subset are summed in window order at the end, from one f64 per window, so the
// figure is the same whatever the batch size, the thread count, or how often the run was resumed.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "eval/protocol.h"
#include "eval/shard.h"

namespace ziq::text { class CorpusReader; }
namespace ziq::tok { class Tokenizer; }
namespace ziq::model { class LanguageModel; }

namespace ziq::eval {

struct PreparedSubset {
  std::string name;
  uint64_t documents = 0;        // non-empty documents, scored
  uint64_t empty_documents = 0;  // dropped, as the paper's script does
  uint64_t characters = 0;       // Unicode code points (Python's len()) over the non-empty documents
  uint64_t bytes = 0;            // UTF-8 bytes of the same
  std::vector<int32_t> tokens;        // all documents' tokens, concatenated in corpus order
  std::vector<int64_t> doc_offsets;   // documents + 1 entries: document d is tokens[off[d], off[d+1])
  WindowPlan plan;
};

struct PreparedCorpus {
  ProtocolParams protocol;
  std::vector<PreparedSubset> subsets;  // in order of first appearance in the corpus
  std::string corpus_fingerprint;
  uint64_t documents_read = 0;
};

// threads: for tokenizing (0 = all cores).
PreparedCorpus prepare_corpus(text::CorpusReader& reader, const tok::Tokenizer& tokenizer,
                              const ProtocolParams& protocol, int threads);

// Where finished windows live between runs (SQLite in store/eval_progress.h; memory in tests).
class WindowStore {
 public:
  virtual ~WindowStore() = default;
  // (window index, nats) of every window of `subset` already finished.
  virtual std::vector<std::pair<int64_t, double>> finished(const std::string& subset) = 0;
  // Durably records a batch of finished windows (one transaction).
  virtual void commit(const std::string& subset, std::span<const std::pair<int64_t, double>> windows) = 0;
};

struct SubsetResult {
  std::string name;
  uint64_t documents = 0, empty_documents = 0, characters = 0, bytes = 0;
  int64_t tokens = 0, scored_tokens = 0, windows = 0, resumed_windows = 0;
  double nats = 0;
  std::optional<double> bpc, bits_per_byte;  // empty when nothing could be scored
  bool short_corpus = false;
  std::vector<std::string> notes;
};

struct EvalResult {
  std::vector<SubsetResult> subsets;
  std::optional<double> average_bpc;  // mean of the subsets' BPC, as the paper reports
  // Pooled over all subsets: total nats over total characters / bytes.
  uint64_t documents = 0, empty_documents = 0, characters = 0, bytes = 0;
  int64_t tokens = 0, scored_tokens = 0, windows = 0, resumed_windows = 0;
  double nats = 0;
  std::optional<double> pooled_bpc, pooled_bits_per_byte;
  int64_t computed_tokens = 0;  // scored tokens computed in this call, by every rank (not read back)
  bool complete = false;  // false when stopped by `stop` before every window was scored
};

struct ScoreOptions {
  int batch = 4;                                // windows per model call
  const std::atomic<bool>* stop = nullptr;      // checked between batches (Ctrl-C)
  bool progress = true;                         // progress bar (when stderr is a terminal)
  // Data parallel (eval/shard.h): batches dealt round-robin over the group's ranks, finished
  // windows exchanged after each round. Only rank 0 reads and writes the WindowStore; every rank
  // returns the whole result.
  ShardGroup* group = nullptr;
};

// Batches are aligned groups of `batch` consecutive windows of a subset, so a resumed run feeds
// the model exactly the batches an uninterrupted run would (only whole batches are committed),
// and a run over several ranks the batches one process would.
EvalResult score_corpus(const PreparedCorpus& corpus, model::LanguageModel& model,
                        const ScoreOptions& options, WindowStore* store);

// The figures of a subset from its totals (also used when a run is finished from stored windows).
std::optional<double> bits_per_unit(double nats, uint64_t units);

}  // namespace ziq::eval
