// The bf16 flash-attention kernel's tile configurations, for tests and benchmarks:
// attention<__nv_bfloat16> (kernels.h) runs the default one for the head dimension; the test
// binary checks every configuration and the benchmark times them side by side.
#pragma once

#include "backend/cuda/kernels.h"

namespace ziq::backend::cuda {

struct FlashConfig {
  int d;                // head dimension compiled for; smaller head_dims run zero-padded up to it
  int bn;               // keys per K/V tile
  int mt;               // mma.sync kernel: 16-row tiles per warp (4 warps: 64 * mt query rows a block)
  int warpgroups;       // wgmma kernel (compute capability 9.0): warpgroups of 64 query rows a block
  bool overlap = false;  // wgmma: the next tile's S product runs during this tile's softmax
};

int flash_config_count();
FlashConfig flash_config(int i);
// Whether configuration i runs on the current device (wgmma ones need compute capability 9.0).
bool flash_config_supported(int i);
// The configuration attention<__nv_bfloat16> runs for head_dim on the current device, -1 if none.
int flash_default_config(int head_dim);

// attention<__nv_bfloat16> with a given configuration (which must have d >= head_dim).
void attention_bf16_config(int config, const __nv_bfloat16* q, int64_t ldq, const __nv_bfloat16* k, int64_t ldk,
                           const __nv_bfloat16* v, int64_t ldv, __nv_bfloat16* out, int64_t ldo,
                           const DevSeqSpan* seqs, int n_seqs, int64_t max_len, int n_heads, int n_kv_heads,
                           int head_dim, float scale, int64_t window, cudaStream_t s);

}  // namespace ziq::backend::cuda
