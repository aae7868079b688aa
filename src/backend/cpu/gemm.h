// Matrix products on the CPU: y[m, n] = x[m, k] * w[n, k]^T, x in f32, w bf16 (as stored) or f32.
// Each call handles one block of weight rows on one thread; the backend runs blocks in parallel.
//
// Kernels, all measured by `ziq_bench_score gemm` (bench/bench_score.cpp):
//  - avx512 (the default where the CPU has AVX-512F): our own f32 kernel. The weight block is
//    widened to f32 (exactly) while it is packed into 32-column panels, then a 12 x 32 register
//    tile of FMAs runs down k. Exact float32 arithmetic, as transformers' float32 forward.
//  - avx512bf16 ("bf16x2"): our own vdpbf16ps kernel on pair-packed weights. x is split into two
//    bf16 parts (hi = bf16(x), lo = bf16(x - hi)) so x*w = hi*w + lo*w keeps 16 of x's 24 mantissa
//    bits. Two vdpbf16ps per pair of k multiply at the rate of one f32 FMA, so no faster than
//    avx512, and the lost bits show (up to 1e-4 in log-probabilities on the golden models).
//  - avx512bf16_fast: the same kernel with x rounded to bf16 (no lo part): twice the multiply
//    rate, float32 accumulation, the precision transformers gets when it runs in bfloat16. Only
//    when asked for (LoadOptions::precision = "bf16"); the default is exact.
//  - amx_bf16x3 (the default where the CPU has AMX-BF16, Intel Sapphire Rapids and later): x split
//    into three bf16 parts (hi + mid + lo = x to within 2^-24 relative), each multiplied by the
//    bf16 weights on the AMX tile unit (products of two bf16 are exact in f32, sums in f32), so
//    the result is float32-exact like avx512, at a multiply rate of 1024 flop/cycle/core (16x an
//    AVX-512 FMA pipe pair) divided by three.
//  - amx_bf16: the same with x rounded to bf16 (one part): --precision bf16 on AMX machines, the
//    arithmetic transformers uses in bfloat16 on such a CPU (oneDNN's AMX path).
//  - avx2 (the default on CPUs with AVX2/FMA and no AVX-512): the avx512 kernel's twin, a 6 x 16
//    tile of 8-lane FMAs on the same packed panels; the same FMA chain per output, so the same bits
//    as avx512, whatever the batch, blocking or thread count.
//  - openblas: the weight block widened to f32, then OpenBLAS sgemm. Only for measurements now:
//    its results depend on m (its kernels block differently per size), so a window's numbers
//    would change with what else is in the batch (Debian's 0.3.21 runs its Haswell kernels on Zen 4).
// Measured on the dev machine (AMD EPYC Zen 4, shared by other jobs, 1 thread, m=1024 n=4864
// k=896, block 128; `build/bench/ziq_bench_score gemm`): avx512 ~70-116 GFLOP/s, avx512bf16
// (bf16x2 dot-product form) ~80-115 after row-wise panel packing, openblas ~36-60 (~80 when forced
// to its SkylakeX kernels with OPENBLAS_CORETYPE, which cannot be set from inside the process).
// avx512 is exact (avx512bf16 reaches 9.7e-5 on a golden model), so it is the default there.
// On the benchmark machine (16-core Intel Xeon with AMX, the H200 host; m=7600 n=4864 k=896, 16
// threads, weights prepacked): avx512 1029 GFLOP/s, amx_bf16x3 1970 (max |diff| vs OpenBLAS
// 4.3e-6, avx512's is 1.2e-5), amx_bf16 4547; one thread at m=1024: avx512 74, amx_bf16x3 125,
// amx_bf16 374, OpenBLAS 114 (Debian's pthread OpenBLAS serializes calls from several threads,
// 88 GFLOP/s at 16). So amx_bf16x3 is the default where AMX is.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/aligned_buffer.h"

namespace ziq::backend::cpu {

enum class GemmKernel { openblas, avx2, avx512, avx512bf16, avx512bf16_fast, amx_bf16x3, amx_bf16 };

bool cpu_has_avx2_fma();
bool cpu_has_avx512();  // false under ZIQ_CPU=avx2, as the AVX-512 BF16 and AMX checks
bool cpu_has_avx512_bf16();
bool cpu_has_amx_bf16();           // CPUID says so and Linux granted the tile state to this process
GemmKernel default_gemm_kernel();  // honours ZIQ_GEMM=<kernel name> for measurements
GemmKernel fast_gemm_kernel();     // amx_bf16 or avx512bf16_fast where the CPU has them
std::vector<GemmKernel> available_gemm_kernels();  // every kernel this CPU runs, openblas first
std::string gemm_kernel_name(GemmKernel k);
bool is_amx(GemmKernel k);
// Weight blocks given to gemm_block should be multiples of this many rows (except the last).
int64_t gemm_block_multiple(GemmKernel k);

// x prepared once per product and shared by every weight block.
struct GemmInput {
  const float* x = nullptr;
  int64_t m = 0, k = 0;
  // bf16 kernels only: x as a sum of `parts` bf16 matrices (part[0] = bf16(x), part[1] = bf16 of
  // the remainder, ...), rows of kpad values (k rounded up to even, or to 32 for AMX, zero-filled).
  int64_t kpad = 0;
  int parts = 0;
  const uint16_t* part[3] = {nullptr, nullptr, nullptr};  // avx512bf16 kernels: row-major parts
  // AMX kernels: the parts in the order the tile unit reads them, so each tile load is 1 KB in a
  // row (strided rows of row-major parts loaded ~10-30% slower in a micro-benchmark on the
  // benchmark machine: set conflicts, no streaming). Per group of 32
  // rows (zero rows past m), per step of 32 k, per part, per half (rows 0-15, 16-31): a tile of
  // 16 rows x 32 bf16. A group takes 32 * kpad * parts values.
  const uint16_t* tiles = nullptr;
};
// Fills the bf16 parts (storage owned by the caller) when the kernel needs them, on `threads`.
GemmInput prepare_gemm_input(GemmKernel kern, const float* x, int64_t m, int64_t k,
                             AlignedBuffer<uint16_t>& storage, int threads = 1);
// Rows [r0, r0 + m) of a prepared input (r0 a multiple of 32).
GemmInput gemm_input_rows(const GemmInput& in, int64_t r0, int64_t m);

// Kernels that run on weights packed once, ahead of time (AMX: the pair layout, 32-column panels of
// k rounded up to 32): the backend packs each bf16 matrix on first use and keeps it, instead of
// repacking each block for every product.
bool gemm_prepacks(GemmKernel kern);
int64_t packed_weight_values(GemmKernel kern, int64_t rows, int64_t k);  // bf16 values
// Panels [panel_begin, panel_end) of the bf16 matrix w [rows, k] into out (the whole packed matrix).
void pack_weight_panels(GemmKernel kern, const uint16_t* w, int64_t rows, int64_t k, int64_t panel_begin,
                        int64_t panel_end, uint16_t* out);
// gemm_block on a prepacked block: `panels` is the packed matrix plus the block's first panel
// (block starts are multiples of 32 rows).
void gemm_block_packed(GemmKernel kern, const GemmInput& in, const uint16_t* packed, int64_t first_row, int64_t n,
                       float* y, int64_t ldy);

// The gated MLP's inner step on AMX, fused so the [m, I] activations never exist in f32:
// act = silu(x gate^T + bias_gate) * (x up^T + bias_up) for the rows of `in` and columns
// [first_col, first_col + n) (first_col a multiple of 32) of the prepacked gate and up matrices
// (both [I, k]), split into bf16 parts straight into `act_tiles`: the tile layout of the down
// projection's input, an [m, I] GemmInput from gemm_input_tiles; `act_row` is the act row that
// in's first row lands on (a multiple of 32). Biases may be null. Same values as the steps one
// by one (products, bias, silu_mul, prepare_gemm_input).
void gemm_silu_gate_packed(GemmKernel kern, const GemmInput& in, const uint16_t* gate_packed,
                           const uint16_t* up_packed, const float* bias_gate, const float* bias_up,
                           int64_t first_col, int64_t n, int64_t I, uint16_t* act_tiles, int64_t act_row);
// An AMX input of m rows and k columns in the tile layout, storage sized, tiles left to the caller.
GemmInput gemm_input_tiles(GemmKernel kern, int64_t m, int64_t k, AlignedBuffer<uint16_t>& storage);

// y[i, j] for rows i < m, columns j < n of this weight block (w points at its first row, rows of
// k values, bf16 when w_bf16 else f32); y has row stride ldy. Single-threaded: the caller runs
// blocks on its threads. `scratch` is reused between calls.
void gemm_block(GemmKernel kern, const GemmInput& in, const void* w, bool w_bf16, int64_t n, float* y,
                int64_t ldy, std::vector<float>& scratch);

// Round to nearest even, as the hardware conversion does (inputs here are finite).
inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  __builtin_memcpy(&u, &f, 4);
  u += 0x7FFF + ((u >> 16) & 1);
  return static_cast<uint16_t>(u >> 16);
}

inline float bf16_to_f32(uint16_t b) {
  uint32_t u = uint32_t(b) << 16;
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}

}  // namespace ziq::backend::cpu
