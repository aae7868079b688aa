// Causal self-attention on the CPU, our own f32 kernel (OpenBLAS serializes sgemm calls made
// from several threads at once, which left attention at a fraction of the machine).
//
// Flash-attention style: for one task (a sequence, a kv head, a block of queries) the keys are
// visited in blocks of 64; the scores of a block stay in L1, the softmax is kept online (running
// max and sum per query) and the output accumulates P V as the blocks go by. All query heads of a
// GQA group run in the same task, so each K/V block is read once for all of them. Keys past the
// diagonal (or before a sliding window) are skipped block by block.
//
// Determinism: the task decomposition depends only on the sequence's length and the head shapes,
// and each task runs on one thread in a fixed order, so a query's result is bit-identical
// whatever the batch composition or thread count.
//
// Kernels: avx512 (register tiles of 6 rows x 64 keys for the scores, 6 rows x 64 head dims for
// P V; compiled with target attributes and chosen at run time) and portable (the same tiles, 6 rows
// x 16 columns, in GCC vector extensions: AVX2 at the build's floor). They agree to float32 rounding.
// Single-thread figures (dev machine, AMD EPYC with AVX-512, 1900 tokens, 14 heads / 2 kv heads of
// 64, /tmp bench): avx512 ~170 GFLOP/s, portable ~60, OpenBLAS sgemm (the old code) ~95.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "backend/backend.h"
#include "core/aligned_buffer.h"

namespace ziq::backend::cpu {

enum class AttentionKernel { portable, avx512 };

AttentionKernel default_attention_kernel();  // avx512 where the CPU has it

// q rows: n_heads * head_dim floats; k, v rows: n_kv_heads * head_dim; out like q. Sequences lie
// packed row after row as `seqs` says. Query i of a sequence sees keys (i - window, i] when
// window > 0, else [0, i].
struct AttentionArgs {
  const float* q = nullptr;
  const float* k = nullptr;
  const float* v = nullptr;
  float* out = nullptr;
  int64_t n_heads = 0, n_kv_heads = 0, head_dim = 0;
  float scale = 1.0f;  // > 0
  int64_t window = 0;
};

// One call, in two phases that the caller spreads over its threads: first K (transposed) and V
// are copied into blocks of 64 keys (pack items: a sequence's key block, all kv heads), so the
// kernels read whole, aligned, zero-padded vectors; then the tasks run
// (a sequence, a kv head, a block of queries; the most expensive first, they balance better).
class Attention {
 public:
  Attention(const AttentionArgs& a, std::span<const SeqSpan> seqs, AttentionKernel kern = default_attention_kernel());

  int64_t pack_items() const { return int64_t(pack_items_.size()); }
  void pack(int64_t item);
  int64_t tasks() const { return int64_t(tasks_.size()); }
  void run(int64_t task, std::vector<float>& scratch) const;  // scratch is reused between calls

  void run_all();  // both phases on the calling thread

 private:
  struct PackItem {
    int64_t seq, block;
  };
  struct Task {
    int64_t seq, kv_head, q0, q1;  // queries [q0, q1) of the sequence
  };
  int64_t padded_head_dim() const;  // head_dim rounded up to 16
  int64_t block_floats() const;
  int64_t kv_offset(int64_t seq, int64_t block, int64_t kv_head) const;  // of a block in kv_

  AttentionArgs a_;
  std::span<const SeqSpan> seqs_;
  AttentionKernel kern_;
  std::vector<int64_t> first_block_;  // per sequence, its first block in kv_
  std::vector<PackItem> pack_items_;
  std::vector<Task> tasks_;
  // Per key block and kv head: K transposed [head_dim][64], then V [64][padded_head_dim]; zero
  // past the sequence's end and in the padding.
  AlignedBuffer<float> kv_;
};

}  // namespace ziq::backend::cpu
