// Times attention<bf16> (and each tile configuration of the flash kernel for the head dimension)
// and attention<float> on the scoring shapes: 8 packed windows of 1900 tokens, causal, q/k/v
// column slices of one fused buffer. Prints TFLOP/s counting causal FLOPs, 4 * L^2 / 2 * d * heads
// per sequence, and one JSON line per measurement for bench/cuda_attention_bench.py, which runs
// torch's scaled_dot_product_attention on the same shapes beside it.
//
//   ziq_cuda_attention_bench [--seqs 8] [--len 1900] [--reps 20] [--warmup 3] [--shape i]
// (--shape i: only the i-th shape; --warmup 0 --reps 1: each kernel once, for a profiler.)
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <string>
#include <vector>

#include "backend/cuda/attention_configs.h"
#include "backend/cuda/kernels.h"

using namespace ziq::backend::cuda;

namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(e));
    std::exit(1);
  }
}

struct Shape {
  const char* name;
  int heads, kv_heads, d;
};

int g_warmup = 3;

// Median time in ms of `reps` runs of f after g_warmup warm-up runs.
template <typename F>
float time_ms(int reps, F&& f) {
  cudaEvent_t a, b;
  check(cudaEventCreate(&a), "event");
  check(cudaEventCreate(&b), "event");
  for (int i = 0; i < g_warmup; ++i) f();
  check(cudaDeviceSynchronize(), "warm-up");
  std::vector<float> ms;
  for (int i = 0; i < reps; ++i) {
    check(cudaEventRecord(a), "record");
    f();
    check(cudaEventRecord(b), "record");
    check(cudaEventSynchronize(b), "sync");
    float t = 0;
    check(cudaEventElapsedTime(&t, a, b), "elapsed");
    ms.push_back(t);
  }
  check(cudaGetLastError(), "launch");
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int n_seqs = 8, reps = 20, only_shape = -1;
  int64_t len = 1900;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--seqs")) n_seqs = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--len")) len = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--reps")) reps = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--shape")) only_shape = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--warmup")) g_warmup = std::atoi(argv[i + 1]);
  }
  cudaDeviceProp prop;
  check(cudaGetDeviceProperties(&prop, 0), "device");
  std::printf("%s, %d SMs; %d sequences x %lld tokens, causal\n", prop.name, prop.multiProcessorCount, n_seqs,
              (long long)len);

  const Shape shapes[] = {{"llama2-7b 32x128", 32, 32, 128},
                          {"llama3-8b 32x128 kv8", 32, 8, 128},
                          {"qwen2-0.5b 14x64 kv2", 14, 2, 64},
                          {"phi 32x80", 32, 32, 80},
                          {"gemma 8x256 kv1", 8, 1, 256}};
  const int64_t rows = int64_t(n_seqs) * len;
  std::vector<DevSeqSpan> spans;
  for (int s = 0; s < n_seqs; ++s) spans.push_back({int64_t(s) * len, len});
  DevSeqSpan* dspans;
  check(cudaMalloc(&dspans, spans.size() * sizeof(DevSeqSpan)), "malloc");
  check(cudaMemcpy(dspans, spans.data(), spans.size() * sizeof(DevSeqSpan), cudaMemcpyHostToDevice), "copy");

  std::printf("%-24s %-18s %10s %10s\n", "shape", "kernel", "ms", "TFLOP/s");
  for (int si = 0; si < int(std::size(shapes)); ++si) {
    if (only_shape >= 0 && si != only_shape) continue;
    const Shape& sh = shapes[si];
    const int64_t ld = int64_t(sh.heads + 2 * sh.kv_heads) * sh.d, ldo = int64_t(sh.heads) * sh.d;
    const double flops = 4.0 * double(len) * double(len) / 2.0 * sh.d * sh.heads * n_seqs;
    const float scale = 1.f / std::sqrt(float(sh.d));
    // Random inputs (seeded on the device), never zeros.
    __nv_bfloat16 *qkv, *out;
    check(cudaMalloc(&qkv, size_t(rows * ld) * 2), "malloc");
    check(cudaMalloc(&out, size_t(rows * ldo) * 2), "malloc");
    fill_random_bf16(qkv, rows * ld, 7, 1.f, 0);
    auto report = [&](const std::string& kernel, float ms) {
      std::printf("%-24s %-18s %10.3f %10.1f\n", sh.name, kernel.c_str(), ms, flops / (ms * 1e-3) / 1e12);
      std::printf("JSON {\"shape\": \"%s\", \"heads\": %d, \"kv_heads\": %d, \"d\": %d, \"kernel\": \"%s\", "
                  "\"ms\": %.4f, \"tflops\": %.2f}\n",
                  sh.name, sh.heads, sh.kv_heads, sh.d, kernel.c_str(), ms, flops / (ms * 1e-3) / 1e12);
    };
    const __nv_bfloat16* q = qkv;
    const __nv_bfloat16* k = q + sh.heads * sh.d;
    const __nv_bfloat16* v = k + sh.kv_heads * sh.d;
    report("ziq bf16", time_ms(reps, [&] {
             attention<__nv_bfloat16>(q, ld, k, ld, v, ld, out, ldo, dspans, n_seqs, len, sh.heads, sh.kv_heads,
                                      sh.d, scale, 0, 0);
           }));
    const int def = flash_default_config(sh.d);
    for (int c = 0; c < flash_config_count(); ++c) {
      const FlashConfig fc = flash_config(c);
      if (fc.d != flash_config(def).d || !flash_config_supported(c)) continue;
      const std::string kind = fc.warpgroups
                                   ? "wgmma x" + std::to_string(fc.warpgroups) + (fc.overlap ? " overlap" : "")
                                   : "mma mt" + std::to_string(fc.mt);
      report("  " + kind + " bn" + std::to_string(fc.bn) + (c == def ? " (default)" : ""),
             time_ms(reps, [&] {
               attention_bf16_config(c, q, ld, k, ld, v, ld, out, ldo, dspans, n_seqs, len, sh.heads, sh.kv_heads,
                                     sh.d, scale, 0, 0);
             }));
    }
    // A sliding window of 512 on the same shape (Mistral-style), default configuration.
    {
      const float ms = time_ms(reps, [&] {
        attention<__nv_bfloat16>(q, ld, k, ld, v, ld, out, ldo, dspans, n_seqs, len, sh.heads, sh.kv_heads, sh.d,
                                 scale, 512, 0);
      });
      std::printf("%-24s %-18s %10.3f %10s\n", sh.name, "ziq bf16 window512", ms, "-");
    }
    check(cudaFree(qkv), "free");
    check(cudaFree(out), "free");
    // The exact float32 path, for the record.
    float *qkv32, *out32;
    check(cudaMalloc(&qkv32, size_t(rows * ld) * 4), "malloc");
    check(cudaMalloc(&out32, size_t(rows * ldo) * 4), "malloc");
    {
      __nv_bfloat16* tmp;
      check(cudaMalloc(&tmp, size_t(rows * ld) * 2), "malloc");
      fill_random_bf16(tmp, rows * ld, 8, 1.f, 0);
      bf16_to_f32(tmp, rows * ld, qkv32, 0);
      check(cudaDeviceSynchronize(), "fill");
      check(cudaFree(tmp), "free");
    }
    const float* q32 = qkv32;
    const float* k32 = q32 + sh.heads * sh.d;
    const float* v32 = k32 + sh.kv_heads * sh.d;
    report("ziq f32", time_ms(std::max(3, reps / 4), [&] {
             attention<float>(q32, ld, k32, ld, v32, ld, out32, ldo, dspans, n_seqs, len, sh.heads, sh.kv_heads,
                              sh.d, scale, 0, 0);
           }));
    check(cudaFree(qkv32), "free");
    check(cudaFree(out32), "free");
  }
  check(cudaFree(dspans), "free");
  return 0;
}
