// ziq_llamacpp_score: the llama.cpp side of bench/bench_eval_llamacpp.py.
//
// Our own small driver over llama.cpp's public C API (llama.h), built by tools/build_llamacpp.sh
// against the llama.cpp that the llama-cpp-python source package carries; it is not part of ziq's
// build and nothing of llama.cpp is copied here.
//
//   ziq_llamacpp_score --model F.gguf --tokens FILE --context C [--threads T] [--repeat R]
//                      [--ubatch U] [--seqs S] [--kv f32|f16|bf16] [--flash-attn on|off] [--blas]
//
// FILE holds little-endian int32 token ids, windows of C+1 tokens back to back (the file that
// ziq_bench_score reads). Each window's first C tokens go through the model at positions 0..C-1
// (S windows per llama_decode, each its own sequence with its own KV stream; the KV cache is
// cleared before each call), llama.cpp returns the logits of every position, and the driver takes
// the log-softmax of each row and the log-probability of the next token: every target scored, as
// ziq_bench_score does. Prints one JSON line: tokens through the model per second (windows * C
// over the best of R runs, the log-softmax included), the summed nll (nats) and per window, and
// the best decode-only and log-softmax-only seconds. Before the timed runs, 16 tokens go through
// the model once (the mapped weights faulted in).
//
// Backends: the CPU variants beside the executable (ggml picks the best for this CPU); --blas also
// loads blas/libggml-blas.so (OpenBLAS), which llama.cpp then uses for the matrix products it takes.
#include <llama.h>
#include <ggml-backend.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>
#include <link.h>
#include <unistd.h>

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "ziq_llamacpp_score: %s\n", msg.c_str());
  std::exit(2);
}

std::string exe_dir() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, size_t(n));
  return p.substr(0, p.find_last_of('/'));
}

bool verbose = false;
void log_cb(ggml_log_level level, const char* text, void*) {
  if (verbose || level >= GGML_LOG_LEVEL_WARN) std::fputs(text, stderr);
}

// -ln p(target) for one row of logits: logsumexp(row) - row[target], the sum in blocks of float
// partials added in double.
double nll_of_row(const float* row, int n, int target) {
  float mx = row[0];
  for (int j = 1; j < n; ++j) mx = std::max(mx, row[j]);
  double sum = 0;
  constexpr int kBlock = 2048;
  for (int j0 = 0; j0 < n; j0 += kBlock) {
    const int j1 = std::min(n, j0 + kBlock);
    float s = 0;
    for (int j = j0; j < j1; ++j) s += std::exp(row[j] - mx);
    sum += s;
  }
  return double(mx) + std::log(sum) - double(row[target]);
}

// The CPU backend variant ggml loaded (the file name of the libggml-cpu-*.so in the process).
std::string loaded_cpu_variant() {
  std::string found;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        const std::string name = info->dlpi_name ? info->dlpi_name : "";
        const auto slash = name.find_last_of('/');
        const std::string base = slash == std::string::npos ? name : name.substr(slash + 1);
        if (base.rfind("libggml-cpu", 0) == 0) *static_cast<std::string*>(data) = base;
        return 0;
      },
      &found);
  return found;
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (c == '\n') { o += "\\n"; continue; }
    if (static_cast<unsigned char>(c) < 0x20) continue;
    o += c;
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path, tokens_path, kv = "f16", fa = "on";
  int context = 0, threads = 0, repeat = 2, ubatch = 0, seqs = 1;
  bool blas = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value after " + a);
      return argv[++i];
    };
    if (a == "--model") model_path = next();
    else if (a == "--tokens") tokens_path = next();
    else if (a == "--context") context = std::atoi(next().c_str());
    else if (a == "--threads") threads = std::atoi(next().c_str());
    else if (a == "--repeat") repeat = std::atoi(next().c_str());
    else if (a == "--ubatch") ubatch = std::atoi(next().c_str());
    else if (a == "--seqs") seqs = std::atoi(next().c_str());
    else if (a == "--kv") kv = next();
    else if (a == "--flash-attn") fa = next();
    else if (a == "--blas") blas = true;
    else if (a == "--verbose") verbose = true;
    else die("unknown argument " + a);
  }
  if (model_path.empty() || tokens_path.empty() || context <= 0) die("--model, --tokens and --context are required");
  if (threads <= 0) threads = int(sysconf(_SC_NPROCESSORS_ONLN));
  if (ubatch <= 0) ubatch = context * seqs;
  if (repeat < 1) repeat = 1;

  std::ifstream in(tokens_path, std::ios::binary | std::ios::ate);
  if (!in) die(tokens_path + ": cannot open");
  std::vector<int32_t> tokens(size_t(in.tellg()) / 4);
  in.seekg(0);
  in.read(reinterpret_cast<char*>(tokens.data()), std::streamsize(tokens.size() * 4));
  const int len = context + 1;
  const int windows = int(tokens.size() / size_t(len));
  if (windows == 0) die(tokens_path + ": fewer tokens than one window");
  seqs = std::min(seqs, windows);

  llama_log_set(log_cb, nullptr);
  const std::string dir = exe_dir();
  ggml_backend_load_all_from_path(dir.c_str());
  if (blas && !ggml_backend_load((dir + "/blas/libggml-blas.so").c_str())) die("cannot load " + dir + "/blas/libggml-blas.so");
  llama_backend_init();

  ggml_type type_kv = GGML_TYPE_F16;
  if (kv == "f32") type_kv = GGML_TYPE_F32;
  else if (kv == "bf16") type_kv = GGML_TYPE_BF16;
  else if (kv != "f16") die("--kv takes f32, f16 or bf16");

  llama_model_params mp = llama_model_default_params();
  mp.n_gpu_layers = 0;
  mp.progress_callback = [](float, void*) { return true; };  // no progress dots
  llama_model* model = llama_model_load_from_file(model_path.c_str(), mp);
  if (!model) die(model_path + ": llama.cpp cannot load it");
  const llama_vocab* vocab = llama_model_get_vocab(model);
  const int n_vocab = llama_vocab_n_tokens(vocab);
  for (int32_t t : tokens)
    if (t < 0 || t >= n_vocab) die("token id out of the model's vocabulary");

  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = uint32_t(context) * uint32_t(seqs);
  cp.n_batch = uint32_t(context) * uint32_t(seqs);
  cp.n_ubatch = uint32_t(std::min(ubatch, context * seqs));
  cp.n_seq_max = uint32_t(seqs);
  cp.kv_unified = false;
  cp.n_threads = threads;
  cp.n_threads_batch = threads;
  cp.flash_attn_type = fa == "on" ? LLAMA_FLASH_ATTN_TYPE_ENABLED
                       : fa == "off" ? LLAMA_FLASH_ATTN_TYPE_DISABLED
                                     : LLAMA_FLASH_ATTN_TYPE_AUTO;
  cp.type_k = type_kv;
  cp.type_v = type_kv;
  cp.no_perf = true;
  llama_context* ctx = llama_init_from_model(model, cp);
  if (!ctx) die("llama.cpp cannot create the context");

  llama_batch batch = llama_batch_init(context * seqs, 0, 1);
  {  // warm-up, untimed: a few tokens through every layer fault the mapped weights in (ziq reads
     // its weights into memory at load time)
    batch.n_tokens = 0;
    for (int i = 0; i < std::min(context, 16); ++i) {
      const int k = batch.n_tokens++;
      batch.token[k] = tokens[size_t(i)];
      batch.pos[k] = i;
      batch.n_seq_id[k] = 1;
      batch.seq_id[k][0] = 0;
      batch.logits[k] = 1;
    }
    if (llama_decode(ctx, batch) != 0) die("llama_decode failed");
  }
  std::vector<double> nll(size_t(windows), 0.0);
  double best = 1e30, best_decode = 1e30, best_head = 1e30;
  for (int r = 0; r < repeat; ++r) {
    double t_decode = 0, t_head = 0;
    const auto t0 = Clock::now();
    for (int w0 = 0; w0 < windows; w0 += seqs) {
      const int nw = std::min(seqs, windows - w0);
      batch.n_tokens = 0;
      for (int s = 0; s < nw; ++s) {
        const int32_t* win = tokens.data() + size_t(w0 + s) * size_t(len);
        for (int i = 0; i < context; ++i) {
          const int k = batch.n_tokens++;
          batch.token[k] = win[i];
          batch.pos[k] = i;
          batch.n_seq_id[k] = 1;
          batch.seq_id[k][0] = s;
          batch.logits[k] = 1;
        }
      }
      llama_memory_clear(llama_get_memory(ctx), true);
      const auto td = Clock::now();
      if (llama_decode(ctx, batch) != 0) die("llama_decode failed");
      t_decode += since(td);
      const auto th = Clock::now();
      const float* logits = llama_get_logits(ctx);
      for (int s = 0; s < nw; ++s) {
        const int32_t* win = tokens.data() + size_t(w0 + s) * size_t(len);
        double total = 0;
#pragma omp parallel for num_threads(threads) reduction(+ : total) schedule(static)
        for (int i = 0; i < context; ++i)
          total += nll_of_row(logits + (size_t(s) * context + i) * size_t(n_vocab), n_vocab, win[i + 1]);
        nll[size_t(w0 + s)] = total;
      }
      t_head += since(th);
    }
    best = std::min(best, since(t0));
    best_decode = std::min(best_decode, t_decode);
    best_head = std::min(best_head, t_head);
  }
  double total = 0;
  for (double x : nll) total += x;

  std::string cpu;
  for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
    ggml_backend_dev_t d = ggml_backend_dev_get(i);
    if (!cpu.empty()) cpu += "; ";
    cpu += std::string(ggml_backend_dev_name(d)) + ": " + ggml_backend_dev_description(d);
  }
  std::printf("{\"windows\": %d, \"context\": %d, \"seconds\": %.6f, \"tokens_per_s\": %.3f, \"nll\": %.17g, "
              "\"decode_seconds\": %.6f, \"logsoftmax_seconds\": %.6f, \"threads\": %d, \"ubatch\": %u, \"seqs\": %d, "
              "\"kv\": \"%s\", \"flash_attn\": \"%s\", \"blas\": %s, \"devices\": \"%s\", \"cpu_variant\": \"%s\", "
              "\"system_info\": \"%s\", "
              "\"window_nll\": [",
              windows, context, best, double(windows) * context / best, total, best_decode, best_head, threads,
              llama_n_ubatch(ctx), seqs, kv.c_str(), fa.c_str(), blas ? "true" : "false", json_escape(cpu).c_str(), loaded_cpu_variant().c_str(),
              json_escape(llama_print_system_info()).c_str());
  for (int w = 0; w < windows; ++w) std::printf("%s%.17g", w ? ", " : "", nll[size_t(w)]);
  std::printf("]}\n");

  llama_batch_free(batch);
  llama_free(ctx);
  llama_model_free(model);
  llama_backend_free();
  return 0;
}
