// `ziq compress` / `ziq decompress`: a file coded with a language model's next-token
// probabilities and a range coder (codec/model_codec.h has the format and its rules).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "cli/command.h"
#include "cli/data_files.h"
#include "cli/output.h"
#include "codec/model_codec.h"
#include "core/error.h"
#include "core/progress.h"
#include "model/model.h"
#include "tok/tokenizer.h"

namespace ziq::cli {
namespace {

namespace fs = std::filesystem;

struct CodecArgs {
  std::string model;
  std::string input;
  std::string output;
  uint32_t chunk_size = 1024;
  int batch = 16;
  int threads = 0;
  std::string precision;
  std::string backend = "cpu";
  int device = 0;
  bool force = false;
  bool rerun_prefixes = false;
};

std::string model_ref(const CodecArgs& a) {
  if (!a.model.empty()) return a.model;
  const std::string ref = (fs::path(data_dir()) / "default-model").string();
  if (!fs::is_directory(ref))
    input_error("{}: the built-in model is missing (give --model, or set ZIQ_DATA_DIR to ziq's data folder)", ref);
  return ref;
}

std::string read_input(const std::string& path) {
  if (path == "-") {
    std::string s((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    return s;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) input_error("{}: cannot be read", path);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) input_error("{}: read error", path);
  return s;
}

void write_output(const std::string& path, const std::string& data, bool force) {
  if (path == "-") {
    if (std::fwrite(data.data(), 1, data.size(), stdout) != data.size() || std::fflush(stdout) != 0)
      internal_error("writing standard output failed");
    return;
  }
  if (!force && fs::exists(path)) usage_error("{}: exists (give --force to overwrite)", path);
  // Written beside, then renamed: a failed run leaves no half file under the name.
  const std::string tmp = path + ".part";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) input_error("{}: cannot be written", path);
    out.write(data.data(), std::streamsize(data.size()));
    out.close();
    if (!out) internal_error("{}: write error", tmp);
  }
  fs::rename(tmp, path);
}

std::unique_ptr<model::LanguageModel> load(const CodecArgs& a, const std::string& ref) {
  model::LoadOptions opt;
  opt.backend = a.backend;
  opt.device = a.device;
  opt.threads = a.threads;
  opt.precision = a.precision;
  return model::load_model(ref, opt);
}

void add_common(CLI::App& sub, CodecArgs& a) {
  sub.add_option("--model,-m", a.model, "Model folder or org/name in the Hugging Face cache (default: the built-in model)");
  sub.add_option("-o,--output", a.output, "Output file, - for standard output")->required();
  sub.add_option("--batch", a.batch, "Chunks coded together per model call")->capture_default_str();
  sub.add_option("--threads", a.threads, "Threads (0 = all cores)")->capture_default_str();
  sub.add_option("--precision", a.precision, "f32 or bf16 (must match at decompression)");
  sub.add_option("--backend", a.backend, "cpu, cuda or auto (must give the same kernel class at decompression)")
      ->capture_default_str();
  sub.add_option("--device", a.device, "cuda: which GPU")->capture_default_str();
  sub.add_flag("--force,-f", a.force, "Overwrite the output file");
}

void run_compress(const CodecArgs& a, const GlobalOptions& global) {
  if (a.batch < 1) usage_error("--batch must be at least 1 (got {})", a.batch);
  const auto t0 = std::chrono::steady_clock::now();
  const std::string input = read_input(a.input);
  auto lm = load(a, model_ref(a));
  auto tokenizer = tok::load_tokenizer(lm->info().path);
  codec::CodecOptions opt;
  opt.chunk_size = a.chunk_size;
  opt.batch = a.batch;
  Progress progress("compress", 0, "chunks");
  opt.progress = [&](size_t done, size_t total) {
    progress.set_total(total);
    progress.set(done);
  };
  const auto t1 = std::chrono::steady_clock::now();
  codec::CompressStats stats;
  const std::string out = codec::compress(input, *lm, *tokenizer, opt, &stats);
  const double code_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  progress.finish();
  write_output(a.output, out, a.force);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  uint64_t model_chunks = 0, model_bytes = 0, model_payload = 0, tokens = 0;
  double model_bits = 0;
  nlohmann::json chunks = nlohmann::json::array();
  for (const auto& c : stats.chunks) {
    if (c.kind == codec::ChunkKind::model) {
      ++model_chunks;
      model_bytes += c.bytes;
      model_payload += c.coder_bytes;
      tokens += uint64_t(c.tokens);
      model_bits += c.model_bits;
    }
    chunks.push_back({{"kind", codec::chunk_kind_name(c.kind)},
                      {"offset", c.offset},
                      {"bytes", c.bytes},
                      {"payload_bytes", c.payload_bytes},
                      {"tokens", c.tokens},
                      {"coder_bytes", c.coder_bytes},
                      {"model_bits", c.model_bits}});
  }
  const double bpb = stats.input_bytes ? 8.0 * double(stats.output_bytes) / double(stats.input_bytes) : 0;
  if (global.json) {
    print_json({{"input", a.input},
                {"output", a.output},
                {"model", lm->info().name},
                {"backend", lm->info().backend},
                {"precision", lm->info().precision},
                {"chunk_size", a.chunk_size},
                {"input_bytes", stats.input_bytes},
                {"output_bytes", stats.output_bytes},
                {"header_bytes", stats.header_bytes},
                {"bits_per_byte", bpb},
                {"model_chunks", model_chunks},
                {"model_chunk_bytes", model_bytes},
                {"model_coder_bytes", model_payload},
                {"model_tokens", tokens},
                {"model_bits", model_bits},
                {"seconds", seconds},
                {"code_seconds", code_seconds},
                {"chunks", chunks}},
               a.output == "-" ? stderr : stdout);
  } else if (!global.quiet) {
    std::fprintf(stderr,
                 "%s: %llu -> %llu bytes (%.4f bits/byte); %llu of %zu chunks coded with the model: %llu tokens, "
                 "model code length %.0f bits, coded in %llu bytes (%.3f%% over); %.2f s (%.0f bytes/s)\n",
                 a.input.c_str(), (unsigned long long)stats.input_bytes, (unsigned long long)stats.output_bytes, bpb,
                 (unsigned long long)model_chunks, stats.chunks.size(), (unsigned long long)tokens, model_bits,
                 (unsigned long long)model_payload,
                 model_bits > 0 ? 100.0 * (8.0 * double(model_payload) / model_bits - 1) : 0.0, seconds,
                 code_seconds > 0 ? double(stats.input_bytes) / code_seconds : 0.0);
  }
}

void run_decompress(const CodecArgs& a, const GlobalOptions& global) {
  if (a.batch < 1) usage_error("--batch must be at least 1 (got {})", a.batch);
  const auto t0 = std::chrono::steady_clock::now();
  const std::string where = a.input == "-" ? "<stdin>" : a.input;
  const std::string file = read_input(a.input);
  codec::read_identity(file, where);  // not a ziq file: said before a model loads
  auto lm = load(a, model_ref(a));
  auto tokenizer = tok::load_tokenizer(lm->info().path);
  codec::CodecOptions opt;
  opt.batch = a.batch;
  opt.rerun_prefixes = a.rerun_prefixes;
  Progress progress("decompress", 0, "chunks");
  opt.progress = [&](size_t done, size_t total) {
    progress.set_total(total);
    progress.set(done);
  };
  const std::string out = codec::decompress(file, *lm, *tokenizer, opt, where);
  progress.finish();
  write_output(a.output, out, a.force);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (global.json) {
    print_json({{"input", a.input}, {"output", a.output}, {"bytes", out.size()}, {"seconds", seconds}},
               a.output == "-" ? stderr : stdout);
  } else if (!global.quiet) {
    std::fprintf(stderr, "%s: %zu -> %zu bytes; %.2f s (%.0f bytes/s)\n", where.c_str(), file.size(), out.size(),
                 seconds, seconds > 0 ? double(out.size()) / seconds : 0.0);
  }
}

void setup_compress(CLI::App& sub, const GlobalOptions& global) {
  auto a = std::make_shared<CodecArgs>();
  sub.add_option("INPUT", a->input, "File to compress, - for standard input")->required();
  add_common(sub, *a);
  sub.add_option("--chunk-size", a->chunk_size, "Bytes per independently coded chunk")->capture_default_str();
  sub.callback([a, &global] { run_compress(*a, global); });
}

void setup_decompress(CLI::App& sub, const GlobalOptions& global) {
  auto a = std::make_shared<CodecArgs>();
  sub.add_option("INPUT", a->input, "File made by ziq compress, - for standard input")->required();
  add_common(sub, *a);
  sub.add_flag("--rerun-prefixes", a->rerun_prefixes,
               "Re-run each chunk's whole prefix per token instead of keeping keys and values (slow; for checks)");
  sub.callback([a, &global] { run_decompress(*a, global); });
}

}  // namespace
ZIQ_COMMAND("compress", "Compress a file losslessly with a language model and a range coder", setup_compress);
ZIQ_COMMAND("decompress", "Decompress a file made by ziq compress (same model and kernel class)", setup_decompress);
}  // namespace ziq::cli
