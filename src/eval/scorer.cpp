#include "eval/scorer.h"

#include <fmt/format.h>

#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include "core/error.h"
#include "core/progress.h"
#include "core/threads.h"
#include "model/model.h"
#include "text/corpus.h"
#include "tok/tokenizer.h"

namespace ziq::eval {

namespace {

// Commits finished batches to the WindowStore on a thread of its own, in order, so the model's
// next batch runs while the last one is written (a durable SQLite commit costs milliseconds: on a
// GPU that was a fifth of a small model's time). At most two batches wait; a commit's error is
// thrown by the next push or by finish().
class Committer {
 public:
  explicit Committer(WindowStore* store) : store_(store) {
    if (store_) thread_ = std::thread([this] { loop(); });
  }
  ~Committer() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard lock(mu_);
      closing_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void push(const std::string& subset, std::vector<std::pair<int64_t, double>> windows) {
    if (!store_) return;
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return queue_.size() < 2 || error_; });
    rethrow(lock);
    queue_.push_back({subset, std::move(windows)});
    cv_.notify_all();
  }
  // Waits until every pushed batch is committed.
  void finish() {
    if (!store_) return;
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return (queue_.empty() && !busy_) || error_; });
    rethrow(lock);
  }

 private:
  struct Item {
    std::string subset;
    std::vector<std::pair<int64_t, double>> windows;
  };
  void rethrow(std::unique_lock<std::mutex>&) {
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  }
  void loop() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return !queue_.empty() || closing_; });
      if (queue_.empty()) return;
      Item item = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
      lock.unlock();
      std::exception_ptr error;
      try {
        store_->commit(item.subset, item.windows);
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      busy_ = false;
      if (error && !error_) error_ = error;
      if (error_) queue_.clear();  // nothing after a failed commit is written
      cv_.notify_all();
    }
  }

  WindowStore* store_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool busy_ = false, closing_ = false;
  std::exception_ptr error_;
};

}  // namespace

std::optional<double> bits_per_unit(double nats, uint64_t units) {
  if (units == 0) return std::nullopt;
  return nats / (static_cast<double>(units) * std::log(2.0));
}

PreparedCorpus prepare_corpus(text::CorpusReader& reader, const tok::Tokenizer& tokenizer,
                              const ProtocolParams& protocol, int threads) {
  PreparedCorpus out;
  out.protocol = protocol;
  std::unordered_map<std::string, size_t> subset_index;

  // Documents are tokenized a chunk at a time, in parallel, then appended in corpus order, so
  // only the tokens (not the text) of a large corpus stay in memory.
  struct Pending {
    size_t subset;
    std::string text;
  };
  std::vector<Pending> chunk;
  size_t chunk_bytes = 0;
  Progress bar("tokenizing", 0, "B");
  auto flush = [&] {
    std::vector<std::vector<tok::TokenId>> ids(chunk.size());
    std::vector<uint64_t> code_points(chunk.size());
    parallel_for(chunk.size(), threads, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) {
        ids[i] = tokenizer.encode(chunk[i].text, /*add_special=*/true);
        code_points[i] = text::count_code_points(chunk[i].text);
      }
    });
    for (size_t i = 0; i < chunk.size(); ++i) {
      auto& s = out.subsets[chunk[i].subset];
      s.tokens.insert(s.tokens.end(), ids[i].begin(), ids[i].end());
      s.doc_offsets.push_back(static_cast<int64_t>(s.tokens.size()));
      s.documents++;
      s.characters += code_points[i];
      s.bytes += chunk[i].text.size();
    }
    bar.add(chunk_bytes);
    chunk.clear();
    chunk_bytes = 0;
  };

  text::Document doc;
  while (reader.next(doc)) {
    out.documents_read++;
    auto [it, added] = subset_index.try_emplace(doc.subset, out.subsets.size());
    if (added) {
      out.subsets.emplace_back();
      out.subsets.back().name = doc.subset;
      out.subsets.back().doc_offsets = {0};
    }
    if (doc.content.empty()) {  // the paper's script drops them; we count them and say so
      out.subsets[it->second].empty_documents++;
      continue;
    }
    chunk_bytes += doc.content.size();
    chunk.push_back({it->second, std::move(doc.content)});
    if (chunk.size() >= 4096 || chunk_bytes >= (16u << 20)) flush();
  }
  flush();
  bar.finish();

  for (auto& s : out.subsets) {
    std::vector<int64_t> counts(s.documents);
    for (size_t d = 0; d < s.documents; ++d) counts[d] = s.doc_offsets[d + 1] - s.doc_offsets[d];
    s.plan = plan_windows(protocol, counts);
  }
  out.corpus_fingerprint = reader.fingerprint_hex();
  return out;
}

namespace {

int64_t scored_in(const Window& w) { return w.length - w.score_begin; }

const int32_t* window_tokens(const PreparedSubset& s, ProtocolKind kind, const Window& w) {
  int64_t base = kind == ProtocolKind::doc ? s.doc_offsets[w.stream] : 0;
  return s.tokens.data() + base + w.start;
}

void check_vocabulary(const PreparedSubset& s, int64_t vocab) {
  if (vocab <= 0) return;
  for (size_t i = 0; i < s.tokens.size(); ++i)
    if (s.tokens[i] < 0 || s.tokens[i] >= vocab)
      input_error("subset '{}': the tokenizer gave id {} (token {} of the stream), outside the model's "
                  "vocabulary of {}: tokenizer and model do not match",
                  s.name, s.tokens[i], i, vocab);
}

}  // namespace

EvalResult score_corpus(const PreparedCorpus& corpus, model::LanguageModel& model,
                        const ScoreOptions& options, WindowStore* store) {
  if (options.batch < 1) usage_error("--batch must be at least 1 (got {})", options.batch);
  const ProtocolKind kind = corpus.protocol.kind;
  const size_t n_subsets = corpus.subsets.size();

  ShardGroup* group = options.group;
  const int rank = group ? group->rank() : 0, ranks = group ? group->size() : 1;
  WindowStore* lead_store = rank == 0 ? store : nullptr;

  // Per subset: the nats of each window once known (from the store or the model).
  std::vector<std::vector<double>> nats(n_subsets);
  std::vector<std::vector<char>> done(n_subsets);
  std::vector<int64_t> resumed(n_subsets, 0);
  std::vector<ScoredWindow> stored;  // read by the lead, sent to every rank
  for (size_t k = 0; k < n_subsets; ++k) {
    const auto& s = corpus.subsets[k];
    check_vocabulary(s, model.info().vocab_size);
    nats[k].assign(s.plan.windows.size(), 0.0);
    done[k].assign(s.plan.windows.size(), 0);
    if (lead_store)
      for (auto& [w, v] : lead_store->finished(s.name)) stored.push_back({int64_t(k), w, v});
  }
  if (group) group->broadcast(stored);
  for (const ScoredWindow& sw : stored) {
    if (sw.window < 0 || sw.window >= int64_t(nats[sw.subset].size())) continue;  // not for the same key
    nats[sw.subset][sw.window] = sw.nats;
    done[sw.subset][sw.window] = 1;
    resumed[sw.subset]++;
  }

  // The batches still to compute, in run order: aligned groups with at least one window not done.
  struct Batch {
    size_t subset;
    std::vector<int64_t> windows;
    uint64_t tokens = 0;
  };
  std::vector<Batch> pending;
  uint64_t pending_tokens = 0;
  for (size_t k = 0; k < n_subsets; ++k) {
    const auto& s = corpus.subsets[k];
    const int64_t n_windows = static_cast<int64_t>(s.plan.windows.size());
    for (int64_t g = 0; g < n_windows; g += options.batch) {
      Batch b{k, {}, 0};
      for (int64_t w = g; w < std::min<int64_t>(n_windows, g + options.batch); ++w)
        if (!done[k][w]) b.windows.push_back(w), b.tokens += scored_in(s.plan.windows[w]);
      if (b.windows.empty()) continue;
      pending_tokens += b.tokens;
      pending.push_back(std::move(b));
    }
  }

  EvalResult result;
  result.complete = true;
  {
    Progress bar("scoring", pending_tokens, "tok");
    if (!options.progress) bar.finish();
    std::vector<model::ScoreRequest> requests;
    std::vector<model::ScoreResult> outputs;
    std::vector<ScoredWindow> mine;
    Committer committer(lead_store);
    // Round r: rank i computes batch r * ranks + i. One process: one batch per round.
    for (size_t first = 0; first < pending.size(); first += size_t(ranks)) {
      bool stop = options.stop && options.stop->load();
      if (group) stop = group->any(stop);  // every rank stops at the same round
      if (stop) {
        result.complete = false;
        break;
      }
      mine.clear();
      if (first + size_t(rank) < pending.size()) {
        const Batch& b = pending[first + size_t(rank)];
        const auto& s = corpus.subsets[b.subset];
        requests.clear();
        for (int64_t w : b.windows) {
          const Window& win = s.plan.windows[w];
          requests.push_back({window_tokens(s, kind, win), win.length, win.score_begin});
        }
        outputs.assign(requests.size(), {});
        model.score(requests, outputs, /*want_token_logprobs=*/false);
        for (size_t i = 0; i < b.windows.size(); ++i) {
          const double v = outputs[i].nll_nats;
          if (!std::isfinite(v)) {
            model.check_weights_finite();  // a NaN/Inf weight is bad input, named; anything else is ours
            internal_error("subset '{}', window {}: the model returned a non-finite loss ({})", s.name, b.windows[i],
                           v);
          }
          mine.push_back({int64_t(b.subset), b.windows[i], v});
        }
      }
      const std::vector<ScoredWindow> round = group ? group->all_gather(mine) : mine;
      // The round's windows come batch by batch (rank order is batch order): one commit each.
      std::vector<std::pair<int64_t, double>> finished;
      for (size_t i = 0; i < round.size(); ++i) {
        const ScoredWindow& sw = round[i];
        nats[sw.subset][sw.window] = sw.nats;
        done[sw.subset][sw.window] = 1;
        finished.emplace_back(sw.window, sw.nats);
        const bool batch_ends = i + 1 == round.size() || round[i + 1].subset != sw.subset ||
                                round[i + 1].window < sw.window ||
                                round[i + 1].window / options.batch != sw.window / options.batch;
        if (batch_ends) {
          committer.push(corpus.subsets[sw.subset].name, std::move(finished));
          finished.clear();
        }
      }
      uint64_t round_tokens = 0;
      for (size_t j = first; j < std::min(pending.size(), first + size_t(ranks)); ++j) round_tokens += pending[j].tokens;
      bar.add(round_tokens);
      result.computed_tokens += static_cast<int64_t>(round_tokens);  // by the whole group
    }
    committer.finish();  // stopped or done: every scored batch is in the store before we return
  }
  // Totals, summed in window order from the per-window figures: independent of batching and
  // of how many times the run was resumed.
  double sum_bpc = 0;
  int n_bpc = 0;
  for (size_t k = 0; k < n_subsets; ++k) {
    const auto& s = corpus.subsets[k];
    SubsetResult r;
    r.name = s.name;
    r.documents = s.documents;
    r.empty_documents = s.empty_documents;
    r.characters = s.characters;
    r.bytes = s.bytes;
    r.tokens = static_cast<int64_t>(s.tokens.size());
    r.scored_tokens = s.plan.scored_tokens;
    r.windows = static_cast<int64_t>(s.plan.windows.size());
    r.resumed_windows = resumed[k];
    r.short_corpus = s.plan.short_corpus;
    r.notes = s.plan.notes;
    if (s.empty_documents)
      r.notes.push_back(fmt::format("dropped {} empty document{} (as the paper's script does)",
                                    s.empty_documents, s.empty_documents == 1 ? "" : "s"));
    for (int64_t w = 0; w < r.windows; ++w) r.nats += nats[k][w];
    if (r.windows == 0) {
      r.notes.push_back("no tokens to score");
    } else {
      r.bpc = bits_per_unit(r.nats, r.characters);
      r.bits_per_byte = bits_per_unit(r.nats, r.bytes);
    }
    if (r.bpc) {
      sum_bpc += *r.bpc;
      n_bpc++;
    }
    result.documents += r.documents;
    result.empty_documents += r.empty_documents;
    result.characters += r.characters;
    result.bytes += r.bytes;
    result.tokens += r.tokens;
    result.scored_tokens += r.scored_tokens;
    result.windows += r.windows;
    result.resumed_windows += r.resumed_windows;
    result.nats += r.nats;
    result.subsets.push_back(std::move(r));
  }
  if (n_bpc) result.average_bpc = sum_bpc / n_bpc;
  if (result.windows) {
    result.pooled_bpc = bits_per_unit(result.nats, result.characters);
    result.pooled_bits_per_byte = bits_per_unit(result.nats, result.bytes);
  }
  return result;
}

}  // namespace ziq::eval
