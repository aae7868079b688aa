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

// amx_bf16: for --precision bf16 on AMX CPUs, the arithmetic transformers runs in bfloat16: q, k,
// v and the softmax weights rounded to bf16, scores and outputs accumulated in f32 on the tile
// unit, the softmax itself in f32 (AVX-512). For 16 rows (query, head) at a time against blocks
// of 64 keys: S = Q K^T in 4 accumulator tiles, the online softmax on S, then O += P V with O's
// rows (already rescaled) loaded into the accumulators. head_dim must be a multiple of 32.
enum class AttentionKernel { portable, avx512, amx_bf16 };

AttentionKernel default_attention_kernel();  // avx512 where the CPU has it
bool amx_attention_supports(int64_t head_dim);  // the CPU has AMX and head_dim % 32 == 0

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
  float softcap = 0;  // > 0: scores x = scale * q.k become softcap * tanh(x / softcap) (Gemma 2)
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
  int64_t kv16_offset(int64_t seq, int64_t block, int64_t kv_head) const;  // of a block in kv16_
  void pack_amx(int64_t item);
  void run_amx(int64_t task, std::vector<float>& scratch) const;
  // With a softcap, rows' scores s[i * 64 + j], j in [a_i, b_i), become softcap * tanh(scale * s /
  // softcap) and the softmax then runs with scale 1 (returned); else s is left and a_.scale returned.
  float cap_scores(float* s, int rows, const int* a, const int* b) const;

  AttentionArgs a_;
  std::span<const SeqSpan> seqs_;
  AttentionKernel kern_;
  std::vector<int64_t> first_block_;  // per sequence, its first block in kv_
  std::vector<PackItem> pack_items_;
  std::vector<Task> tasks_;
  // Per key block and kv head: K transposed [head_dim][64], then V [64][padded_head_dim]; zero
  // past the sequence's end and in the padding.
  AlignedBuffer<float> kv_;
  // amx_bf16: per key block and kv head, K as 4 x head_dim/32 B tiles (16 keys x 16 pairs of
  // dimensions), then V as 2 x head_dim/16 B tiles (16 pairs of keys x 16 dimensions); zero past
  // the sequence's end.
  AlignedBuffer<uint16_t> kv16_;
};

}  // namespace ziq::backend::cpu
