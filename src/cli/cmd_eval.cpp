// `ziq eval`: BPC of a corpus under a model, per subset and overall, the paper's way by default.
// Every run is recorded in the results database; finished windows are committed as they come, so
// an interrupted run (Ctrl-C, kill -9, power loss) resumes when the same command is given again.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <csignal>
#include <cstdlib>
#include <filesystem>

#include "cli/baseline_view.h"
#include "cli/command.h"
#include "cli/data_files.h"
#include "cli/output.h"
#include "codec/classic.h"
#include "core/content_hash.h"
#include "core/error.h"
#include "core/threads.h"
#include "dist/launcher.h"
#include "eval/scorer.h"
#include "model/model.h"
#include "store/eval_progress.h"
#include "store/file_hashes.h"
#include "store/results.h"
#include "text/corpus.h"
#include "tok/tokenizer.h"

namespace ziq::cli {
namespace {

namespace fs = std::filesystem;

struct EvalArgs {
  std::string model;
  std::vector<std::string> corpora;
  std::string protocol = "paper";
  int64_t context = 1900;
  int64_t stride = 512;
  int batch = 0;  // 0: the backend's choice (4 on the CPU, from free memory on a GPU)
  int threads = 0;
  std::string precision;        // empty: the backend's default (f32 on the CPU, bf16 on cuda)
  std::string backend = "auto";
  int device = 0;
  std::string db;
  bool no_resume = false;
  bool allow_unused_weights = false;
  std::string name;  // the model's name in the results; empty: --model as given
  bool list_architectures = false;
};

// --list-architectures: what load_model runs, with the checks behind each.
void list_architectures(const GlobalOptions& global) {
  const auto archs = model::supported_architectures();
  if (global.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& a : archs) j.push_back({{"architecture", a.name}, {"checks", a.checks}});
    print_json(j);
    return;
  }
  for (const auto& a : archs) std::printf("%-20s %s\n", a.name.c_str(), a.checks.c_str());
}

std::atomic<bool> g_stop{false};
std::atomic<int> g_stop_signal{0};

// SIGINT (Ctrl-C) and SIGTERM (kill, a batch system's time limit) stop the same way: after the
// batch in flight, every scored batch committed; a second one ends at once.
extern "C" void on_stop_signal(int sig) {
  g_stop.store(true);
  g_stop_signal.store(sig);
  static const char int_msg[] = "\nziq: interrupted: stopping after the batch in flight (Ctrl-C again to quit now)\n";
  static const char term_msg[] =
      "\nziq: terminated (SIGTERM): stopping after the batch in flight (SIGTERM again to quit now)\n";
  const bool term = sig == SIGTERM;
  ssize_t ignored = write(STDERR_FILENO, term ? term_msg : int_msg, term ? sizeof term_msg - 1 : sizeof int_msg - 1);
  (void)ignored;
  std::signal(sig, SIG_DFL);  // a second signal ends at once; committed windows are safe
}

// The other ranks of a data-parallel run stop at the same round as rank 0, which speaks for them.
extern "C" void on_stop_signal_quietly(int sig) {
  g_stop.store(true);
  g_stop_signal.store(sig);
}

std::string fmt_opt(const std::optional<double>& v, int decimals) { return v ? fixed(*v, decimals) : "-"; }
nlohmann::json json_opt(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }

nlohmann::json subset_json(const eval::SubsetResult& s) {
  return {{"subset", s.name},
          {"bpc", json_opt(s.bpc)},
          {"bits_per_byte", json_opt(s.bits_per_byte)},
          {"nats", s.nats},
          {"characters", s.characters},
          {"bytes", s.bytes},
          {"documents", s.documents},
          {"empty_documents", s.empty_documents},
          {"tokens", s.tokens},
          {"scored_tokens", s.scored_tokens},
          {"windows", s.windows},
          {"resumed_windows", s.resumed_windows},
          {"short_corpus", s.short_corpus},
          {"notes", s.notes}};
}

store::SubsetFigures figures(const eval::SubsetResult& s) {
  store::SubsetFigures f;
  f.subset = s.name;
  f.bpc = s.bpc;
  f.bits_per_byte = s.bits_per_byte;
  f.characters = static_cast<int64_t>(s.characters);
  f.bytes = static_cast<int64_t>(s.bytes);
  f.documents = static_cast<int64_t>(s.documents);
  f.empty_documents = static_cast<int64_t>(s.empty_documents);
  f.tokens = s.tokens;
  f.scored_tokens = s.scored_tokens;
  f.nats = s.nats;
  f.windows = s.windows;
  for (auto& n : s.notes) f.note += (f.note.empty() ? "" : "; ") + n;
  return f;
}

// The run's figures for the results store: each subset, the pooled row ('*') and, as imported
// leaderboards store it, the mean of the subsets' BPC as subset "average".
std::vector<store::SubsetFigures> run_figures(const eval::EvalResult& r) {
  std::vector<store::SubsetFigures> out;
  bool has_average_subset = false;
  for (auto& s : r.subsets) {
    out.push_back(figures(s));
    has_average_subset |= s.name == "average";
  }
  eval::SubsetResult pooled;
  pooled.name = store::kOverallSubset;
  pooled.documents = r.documents;
  pooled.empty_documents = r.empty_documents;
  pooled.characters = r.characters;
  pooled.bytes = r.bytes;
  pooled.tokens = r.tokens;
  pooled.scored_tokens = r.scored_tokens;
  pooled.windows = r.windows;
  pooled.nats = r.nats;
  pooled.bpc = r.pooled_bpc;
  pooled.bits_per_byte = r.pooled_bits_per_byte;
  out.push_back(figures(pooled));
  if (!has_average_subset && r.subsets.size() > 1) {
    store::SubsetFigures avg;
    avg.subset = "average";
    avg.bpc = r.average_bpc;
    avg.note = "mean of the subsets' BPC, as the paper reports";
    out.push_back(avg);
  }
  return out;
}

std::string corpus_name(const std::vector<std::string>& paths) {
  std::string name;
  for (auto& p : paths) name += (name.empty() ? "" : ",") + fs::path(p).filename().string();
  return name;
}

// A rank other than 0 of a data-parallel run: its share of the batches, no database, no output
// (rank 0 stores and prints the result every rank computed alike).
void run_follower(const eval::PreparedCorpus& prepared, model::LanguageModel& lm, int batch) {
  eval::ScoreOptions options;
  options.batch = batch;
  options.progress = false;
  options.group = dist::join_launcher_group();
  options.stop = &g_stop;
  g_stop.store(false);
  auto previous = std::signal(SIGINT, on_stop_signal_quietly);
  auto previous_term = std::signal(SIGTERM, on_stop_signal_quietly);
  const eval::EvalResult result = eval::score_corpus(prepared, lm, options, nullptr);
  std::signal(SIGINT, previous);
  std::signal(SIGTERM, previous_term);
  if (!result.complete) std::_Exit(g_stop_signal.load() == SIGTERM ? kExitTerminated : kExitInterrupted);
}

void run(const EvalArgs& args, const GlobalOptions& global) {
  if (args.list_architectures) return list_architectures(global);
  const auto t0 = std::chrono::steady_clock::now();
  const std::string started_at = store::utc_now_iso8601();
  const bool default_model = args.model.empty();
  std::string model_ref = args.model;
  if (default_model) {
    model_ref = (fs::path(data_dir()) / "default-model").string();
    if (!fs::is_directory(model_ref))
      input_error("{}: the built-in model is missing (give --model, or set ZIQ_DATA_DIR to ziq's data folder)",
                  model_ref);
  }
  std::vector<std::string> corpora = args.corpora;
  if (corpora.empty()) corpora.push_back(sample_corpus_path());

  eval::ProtocolParams protocol;
  protocol.kind = eval::parse_protocol(args.protocol);
  protocol.context = args.context;
  protocol.stride = args.stride;
  eval::validate(protocol);  // before the model loads: bounds, so window arithmetic cannot overflow
  if (args.batch < 0) usage_error("--batch must be at least 1, or 0 for the backend's choice (got {})", args.batch);

  // Started by mpirun or srun as one of several ranks: data parallel over the ranks (eval/shard.h).
  // Rank 0 keeps the results database and prints; each rank takes its share of the cores (and,
  // with --backend cuda, the GPU of its place on the host, --device + local rank).
  dist::ProcessGroup* group = dist::join_launcher_group();
  const bool lead = !group || group->rank() == 0;
  int threads = args.threads;
  int device = args.device;
  if (group) {
    if (threads == 0) threads = std::max(1, resolve_threads(0) / group->local_size());
    device += group->local_rank();
  }

  model::LoadOptions load;
  load.backend = args.backend;
  load.device = device;
  load.threads = threads;
  load.precision = args.precision;
  load.allow_unused_weights = args.allow_unused_weights;
  auto lm = model::load_model(model_ref, load);
  const auto& info = lm->info();
  auto tokenizer = tok::load_tokenizer(info.path);

  text::CorpusReader reader(corpora);
  auto prepared = eval::prepare_corpus(reader, *tokenizer, protocol, threads);
  int batch = args.batch > 0 ? args.batch : lm->suggested_batch(protocol.context + 1);
  if (group) batch = int(group->min(batch));  // the same batches on every rank (a GPU's fit may differ)
  {
    int64_t planned = 0;
    for (const auto& s : prepared.subsets) planned += static_cast<int64_t>(s.plan.windows.size());
    if (planned == 0)
      input_error("{}: nothing to score: {} document(s) read, no subset has two tokens to make a window "
                  "(empty corpus, or only empty documents); no run is saved",
                  corpora.size() == 1 ? corpora[0] : corpus_name(corpora), prepared.documents_read);
  }
  // What the run really computes, said where it differs from what was asked.
  std::vector<std::string> run_notes;
  if (args.precision == "bf16" && info.precision != "bf16")
    run_notes.push_back(fmt::format("--precision bf16: {} has no bfloat16 units here; the run computed in {} "
                                    "and is labelled so",
                                    info.backend, info.precision));
  if (!info.unused_tensors.empty())
    run_notes.push_back(fmt::format("--allow-unused-weights: {} checkpoint tensor(s) not used (first: {})",
                                    info.unused_tensors.size(), info.unused_tensors.front()));

  const std::string db_path = args.db.empty() ? store::default_results_path() : args.db;
  if (!lead) return run_follower(prepared, *lm, batch);
  store::ResultsStore results(db_path);
  // The weights' content (the fingerprint covers only config.json and the headers), hashed once
  // per file version and cached in the database.
  std::string weights_hash;
  if (!info.weight_files.empty()) {
    store::FileHashCache hashes(results.database());
    std::string all;
    for (const auto& f : info.weight_files) all += hashes.hash(f);
    weights_hash = hash_text(all);
  }
  // The run's identity: what decides every window's nats. Resuming needs all of it equal.
  nlohmann::json key = {{"model", info.fingerprint},
                        {"weights", weights_hash},
                        {"tokenizer", tokenizer->fingerprint()},
                        {"corpus", prepared.corpus_fingerprint},
                        {"protocol", eval::protocol_name(protocol.kind)},
                        {"context", protocol.context},
                        {"stride", protocol.stride},
                        {"backend", info.backend},
                        {"precision", info.precision},
                        {"dtype", info.dtype},
                        {"ziq", ZIQ_VERSION},
                        {"ziq_build", executable_hash()}};
  // A GPU's products may round differently for a different number of rows; the CPU backends give
  // the same bits whatever the batch (tested), so only there may a run resume with another batch.
  if (info.backend.rfind("cpu", 0) != 0 && info.backend != "reference") key["batch"] = batch;
  store::EvalProgress progress(results.database(), key.dump());
  if (args.no_resume) progress.clear();

  struct Store : eval::WindowStore {
    store::EvalProgress& p;
    explicit Store(store::EvalProgress& p) : p(p) {}
    std::vector<std::pair<int64_t, double>> finished(const std::string& s) override { return p.finished(s); }
    void commit(const std::string& s, std::span<const std::pair<int64_t, double>> w) override { p.commit(s, w); }
  } window_store(progress);

  g_stop.store(false);
  g_stop_signal.store(0);
  auto previous = std::signal(SIGINT, on_stop_signal);
  auto previous_term = std::signal(SIGTERM, on_stop_signal);
  eval::ScoreOptions options;
  options.batch = batch;
  options.stop = &g_stop;
  options.progress = !global.quiet && !global.json;
  options.group = group;
  eval::EvalResult result;
  auto t_score = std::chrono::steady_clock::now();
  // A failure after windows were committed (the database locked by another process for longer
  // than the busy timeout, a disk full) says that they are kept, and how to go on.
  auto progress_kept = [&](const Error& e) {
    int64_t kept = -1;
    try {
      kept = progress.stored_windows();
    } catch (const Error&) {
    }
    if (kept <= 0) return Error(e.kind(), e.what());
    return Error(e.kind(), fmt::format("{}\nziq: {} finished windows of this run are kept in {} (run {}); give the "
                                       "same command again to resume",
                                       e.what(), kept, db_path, progress.run_key()));
  };
  try {
    t_score = std::chrono::steady_clock::now();
    result = eval::score_corpus(prepared, *lm, options, &window_store);
  } catch (const Error& e) {
    std::signal(SIGINT, previous);
    std::signal(SIGTERM, previous_term);
    throw progress_kept(e);
  } catch (...) {
    std::signal(SIGINT, previous);
    std::signal(SIGTERM, previous_term);
    throw;
  }
  std::signal(SIGINT, previous);
  std::signal(SIGTERM, previous_term);
  if (!result.complete) {
    std::fprintf(stderr,
                 "ziq: stopped; %lld finished windows are saved in %s (run %s). Give the same command "
                 "again to resume.\n",
                 static_cast<long long>(progress.stored_windows()), db_path.c_str(), progress.run_key().c_str());
    std::fflush(stdout);
    // 128 + the signal, as a shell reports a process the signal ended; the database is consistent:
    // every commit is a whole transaction.
    std::_Exit(g_stop_signal.load() == SIGTERM ? kExitTerminated : kExitInterrupted);
  }
  try {
    progress.mark_completed();
  } catch (const Error& e) {
    throw progress_kept(e);
  }

  store::RunRecord record;
  record.run_key = progress.run_key();
  const std::string model_name = args.name.empty() ? info.name : args.name;
  record.model_name = model_name;
  record.model_path = info.path;
  record.model_fingerprint = info.fingerprint;
  record.model_architecture = info.architecture;
  record.model_dtype = info.dtype;
  record.corpus_name = corpus_name(corpora);
  record.corpus_fingerprint = prepared.corpus_fingerprint;
  record.protocol = eval::protocol_name(protocol.kind);
  record.context = protocol.context;
  record.stride = protocol.stride;
  record.tokenizer_kind = tokenizer->kind();
  record.tokenizer_fingerprint = tokenizer->fingerprint();
  record.backend = info.backend;
  record.started_at = started_at;
  if (info.precision != "f32") record.notes = fmt::format("compute precision {}", info.precision);
  for (const auto& n : run_notes) record.notes += (record.notes.empty() ? "" : "; ") + n;
  if (result.resumed_windows)
    record.notes += fmt::format("{}resumed: {} of {} windows from an earlier run", record.notes.empty() ? "" : "; ",
                                result.resumed_windows, result.windows);
  // Load time and device memory, for the next user of the same GPU.
  record.notes += fmt::format("{}load {:.1f} s; batch {}", record.notes.empty() ? "" : "; ", info.load_seconds, batch);
  if (lm->peak_memory() > 0) record.notes += fmt::format("; peak GPU memory {:.1f} GiB", lm->peak_memory() / 1073741824.0);
  if (group) record.notes += fmt::format("; data parallel over {} ranks", group->size());
  record.subsets = run_figures(result);
  int64_t run_id = 0;
  try {
    run_id = results.insert_finished_run(record);
  } catch (const Error& e) {
    throw progress_kept(e);
  }
  const auto t_end = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(t_end - t0).count();
  const double score_seconds = std::chrono::duration<double>(t_end - t_score).count();
  // Throughput of this invocation: scored tokens it computed (not those read back) per second.
  const double tokens_per_second = score_seconds > 0 ? result.computed_tokens / score_seconds : 0;

  nlohmann::json j;
  j["model"] = {{"name", model_name},         {"path", info.path},         {"architecture", info.architecture},
                {"dtype", info.dtype},       {"fingerprint", info.fingerprint}, {"weights_hash", weights_hash},
                {"parameters", info.n_params},
                {"builtin", default_model}};
  j["tokenizer"] = {{"kind", tokenizer->kind()}, {"fingerprint", tokenizer->fingerprint()}};
  j["corpus"] = {{"paths", corpora}, {"fingerprint", prepared.corpus_fingerprint}};
  j["protocol"] = {{"name", eval::protocol_name(protocol.kind)},
                   {"context", protocol.context},
                   {"stride", protocol.stride}};
  j["backend"] = info.backend;
  j["precision"] = info.precision;
  j["notes"] = run_notes;
  j["run_key"] = progress.run_key();
  j["run_id"] = run_id;
  j["db"] = db_path;
  j["subsets"] = nlohmann::json::array();
  for (auto& s : result.subsets) j["subsets"].push_back(subset_json(s));
  j["overall"] = {{"average_bpc", json_opt(result.average_bpc)},
                  {"pooled_bpc", json_opt(result.pooled_bpc)},
                  {"pooled_bits_per_byte", json_opt(result.pooled_bits_per_byte)},
                  {"nats", result.nats},
                  {"characters", result.characters},
                  {"bytes", result.bytes},
                  {"documents", result.documents},
                  {"empty_documents", result.empty_documents},
                  {"tokens", result.tokens},
                  {"scored_tokens", result.scored_tokens},
                  {"windows", result.windows},
                  {"resumed_windows", result.resumed_windows}};
  j["seconds"] = seconds;
  j["load_seconds"] = info.load_seconds;
  j["batch"] = batch;
  j["ranks"] = group ? group->size() : 1;
  j["peak_device_memory_bytes"] = lm->peak_memory();
  j["scoring_seconds"] = score_seconds;
  j["scored_tokens_per_second"] = tokens_per_second;

  // On the built-in model, the classic compressors on the same text, for scale.
  std::optional<codec::BaselineReport> baselines;
  if (default_model) {
    text::CorpusReader again(corpora);
    baselines = codec::compute_baselines(again, codec::all_classic_codecs(), args.threads);
    j["baselines"] = codec::to_json(*baselines);
  }

  if (global.json) {
    print_json(j);
    return;
  }
  std::printf("model     %s (%s, %s, fingerprint %s)\n", model_name.c_str(), info.architecture.c_str(),
              info.dtype.c_str(), info.fingerprint.c_str());
  std::printf("tokenizer %s (fingerprint %s)\n", tokenizer->kind().c_str(), tokenizer->fingerprint().c_str());
  std::printf("corpus    %s (fingerprint %s)\n", corpora.size() == 1 ? corpora[0].c_str() : "several files",
              prepared.corpus_fingerprint.c_str());
  std::printf("protocol  %s, context %lld, stride %lld (%s backend, %s arithmetic)\n\n",
              eval::protocol_name(protocol.kind).c_str(), static_cast<long long>(protocol.context),
              static_cast<long long>(protocol.stride), info.backend.c_str(), info.precision.c_str());
  Table t({"subset", "BPC", "bits/byte", "docs", "characters", "bytes", "tokens", "scored", "windows", "nats"});
  for (auto& s : result.subsets)
    t.add({s.name.empty() ? "-" : s.name, fmt_opt(s.bpc, 4), fmt_opt(s.bits_per_byte, 4), std::to_string(s.documents),
           std::to_string(s.characters), std::to_string(s.bytes), std::to_string(s.tokens),
           std::to_string(s.scored_tokens), std::to_string(s.windows), fixed(s.nats, 1)});
  if (result.subsets.size() > 1) {
    t.add({"average", fmt_opt(result.average_bpc, 4)});
    t.add({"pooled", fmt_opt(result.pooled_bpc, 4), fmt_opt(result.pooled_bits_per_byte, 4),
           std::to_string(result.documents), std::to_string(result.characters), std::to_string(result.bytes),
           std::to_string(result.tokens), std::to_string(result.scored_tokens), std::to_string(result.windows),
           fixed(result.nats, 1)});
  }
  t.print();
  if (baselines) {
    ModelColumn column{"ziq default model", {}};
    for (auto& s : result.subsets)
      if (s.bpc) column.bpc[s.name] = *s.bpc;
    std::printf("\nBPC beside classic compressors on the same text:\n");
    print_baselines(*baselines, {column});
  }
  std::fflush(stdout);  // the table before the notes, when both go to one terminal or file
  if (!global.quiet) {
    for (auto& n : run_notes) std::fprintf(stderr, "note: %s\n", n.c_str());
    for (auto& s : result.subsets)
      for (auto& n : s.notes) std::fprintf(stderr, "note: %s: %s\n", s.name.c_str(), n.c_str());
    if (result.resumed_windows)
      std::fprintf(stderr, "note: resumed: %lld of %lld windows were already in the results database\n",
                   static_cast<long long>(result.resumed_windows), static_cast<long long>(result.windows));
    std::fprintf(stderr, "saved as run %lld (key %s) in %s (%.1f s; load %.1f s; scoring %.1f s, %.0f scored tokens/s)\n",
                 static_cast<long long>(run_id), progress.run_key().c_str(), db_path.c_str(), seconds,
                 info.load_seconds, score_seconds, tokens_per_second);
    if (lm->peak_memory() > 0)
      std::fprintf(stderr, "%s: batch %d windows, peak GPU memory %.1f GiB\n", info.backend.c_str(), batch,
                   lm->peak_memory() / 1073741824.0);
  }
}

void setup(CLI::App& sub, const GlobalOptions& global) {
  auto args = std::make_shared<EvalArgs>();
  sub.add_option("--model,-m", args->model, "Model folder or org/name in the Hugging Face cache (default: the built-in model)");
  sub.add_option("--corpus,-c", args->corpora, "Corpus files: JSONL (.gz .zst .xz), text, folders (default: the sample corpus)");
  sub.add_option("--protocol", args->protocol, "paper (the paper's windows), full (every token once), doc (each document alone)")
      ->capture_default_str();
  sub.add_option("--context", args->context, "Context length C; windows hold C + 1 tokens")->capture_default_str();
  sub.add_option("--stride", args->stride, "Stride s between windows")->capture_default_str();
  sub.add_option("--batch", args->batch, "Windows per model call (0: 4 on the CPU, as many as fit on a GPU, up to 16)")
      ->capture_default_str();
  sub.add_option("--threads", args->threads, "Threads (0 = all cores)")->capture_default_str();
  sub.add_option("--precision", args->precision,
                 "f32 (equal to transformers' float32) or bf16 (matrix inputs rounded to bf16, faster); default f32 on "
                 "the CPU, bf16 on cuda");
  sub.add_option("--backend", args->backend, "cpu, cuda, or auto (cuda when there is a GPU)")->capture_default_str();
  sub.add_option("--device", args->device, "cuda: which GPU")->capture_default_str();
  sub.add_option("--name", args->name,
                 "The model's name in the results (default: --model as given), e.g. the name a score CSV uses");
  sub.add_option("--db", args->db, "Results database (default: $ZIQ_DB, else $XDG_DATA_HOME/ziq/results.sqlite)");
  sub.add_flag("--no-resume", args->no_resume, "Recompute every window, even those saved by an earlier run");
  sub.add_flag("--allow-unused-weights", args->allow_unused_weights,
               "Run a checkpoint holding tensors the model does not use (e.g. more layers than config.json's "
               "num_hidden_layers); refused by default");
  sub.add_flag("--list-architectures", args->list_architectures,
               "List the model architectures (config.json's architectures) ziq runs, with the checks behind each");
  sub.callback([args, &global] { run(*args, global); });
}

}  // namespace
ZIQ_COMMAND("eval", "Bits per character of a corpus under a language model (per subset and overall)", setup);
}  // namespace ziq::cli
