// Causal attention in bf16 on the tensor cores, flash-attention-2 style (Dao, "FlashAttention-2:
// Faster Attention with Better Parallelism and Work Partitioning", 2023), written for sm_80+ with
// mma.sync m16n8k16 (bf16 in, f32 accumulate).
//
// One block of 4 warps per (query head, block of 64 * MT queries, sequence). Each warp owns MT
// tiles of 16 query rows. K and V tiles of BN keys stream through shared memory, double-buffered
// with cp.async, so the next tile's copy overlaps this tile's arithmetic. Per tile, a warp
//   S = Q K^T          (mma; K fragments by ldmatrix, reused across the warp's MT row tiles)
//   online softmax      (row max and sum in registers; a row's 4 owner lanes combine by shuffles)
//   O += bf16(P) V      (the S accumulators are re-packed as the A operand in registers; V by
//                        ldmatrix.trans)
// and O / l is rounded to bf16 once at the end. Tiles entirely above the diagonal or before the
// sliding window are never visited; tiles crossing them are masked element by element; a warp
// whose rows are all masked for a tile skips it. Blocks run in order of decreasing work (last
// query blocks first), and a query head's neighbours in the grid share its kv head, so GQA groups
// read the same K/V tiles from L2 at about the same time.
//
// Rows of shared memory are padded by 16 bytes, so the 8 rows an ldmatrix reads fall in distinct
// banks for every head dimension. Head dimensions below the compiled D are zero-padded in shared
// memory (cp.async zero-fill), so one kernel serves e.g. 40..64.
//
// Deterministic: fixed loop orders, no atomics; a block's result depends only on its sequence.
#include "backend/cuda/flash_common.cuh"

#include <type_traits>

namespace ziq::backend::cuda {
namespace {

using namespace flash;

template <int D, int MT, int BN>
struct Flash {
  static_assert(D % 16 == 0 && BN % 16 == 0 && (MT == 1 || MT == 2), "tile shape");
  static constexpr int kWarps = 4;
  static constexpr int kThreads = 32 * kWarps;
  static constexpr int BM = kWarps * MT * 16;  // query rows per block
  static constexpr int kStride = D + 8;        // shared-memory row, elements (16-byte pad)
  static constexpr int kChunks = D / 8;        // 16-byte chunks per row
  // Q fragments stay in registers when they are few (<= 32 registers a thread); else ldmatrix
  // re-reads them from shared memory for every tile.
  static constexpr bool kQInRegs = MT * D <= 128;
  // Q tile, then K and V tiles, two stages each.
  static constexpr size_t kSmemBytes = size_t(BM + 4 * BN) * kStride * sizeof(bf16);
};

// d += a b for a 16x16 (row) bf16 tile a, a 16x8 (col) tile (b0, b1), f32 accumulators.
__device__ __forceinline__ void mma_bf16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

template <int D, int MT, int BN>
__global__ void __launch_bounds__(Flash<D, MT, BN>::kThreads, 2) flash_kernel(const Params p) {
  using C = Flash<D, MT, BN>;
  constexpr int kStride = C::kStride, BM = C::BM;
  extern __shared__ __align__(16) unsigned char smem[];
  bf16* sQ = reinterpret_cast<bf16*>(smem);  // [BM][kStride]; at the end, the output tile
  bf16* sK = sQ + BM * kStride;              // [2][BN][kStride]
  bf16* sV = sK + 2 * BN * kStride;          // [2][BN][kStride]

  const int head = blockIdx.x;
  const DevSeqSpan seq = p.seqs[blockIdx.z];
  const int len = int(seq.length);  // positions within a sequence fit in 32 bits
  const int q0 = int(gridDim.y - 1 - blockIdx.y) * BM;  // the longest blocks start first
  if (q0 >= len) return;

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int g = lane >> 2, t = lane & 3;  // mma fragment coordinates: row g (and g + 8), column 2t
  const int wrow = warp * MT * 16;        // the warp's first row in the block

  const int window = p.window > 0 ? int(min(p.window, int64_t(len))) : 0;
  const auto [tile0, n_tiles] = key_tiles(q0, BM, len, window, BN);

  // What clamp_window() and head_slices() give, written out: this is the form the H200 run checked
  // (the helpers compile to a different instruction schedule).
  const int chunks = p.head_dim / 8;
  const bf16* qg = p.q + seq.offset * p.ldq + int64_t(head) * p.head_dim;
  const bf16* kg = p.k + seq.offset * p.ldk + int64_t(head / p.group) * p.head_dim;
  const bf16* vg = p.v + seq.offset * p.ldv + int64_t(head / p.group) * p.head_dim;

  // Tile copies: thread -> (row rr of each pass, 16-byte chunk cc); a pass covers kRowsPerPass
  // rows. Rows past the sequence and columns past head_dim become zeros.
  constexpr int kRowsPerPass = C::kThreads / C::kChunks;
  const int rr = tid / C::kChunks, cc = tid % C::kChunks;
  const bool copier = rr < kRowsPerPass && cc < chunks;
  auto load_tile = [&](bf16* dst, const bf16* src, int64_t ld, int r0, auto rows_c) {
    constexpr int kRows = decltype(rows_c)::value;
    if (rr >= kRowsPerPass) return;
    const bf16* from = src + int64_t(r0 + rr) * ld + cc * 8;
    const uint32_t to = smem_addr(dst + rr * kStride + cc * 8);
#pragma unroll
    for (int n = 0; n < (kRows + kRowsPerPass - 1) / kRowsPerPass; ++n) {
      const int r = rr + n * kRowsPerPass;
      if (kRows % kRowsPerPass != 0 && r >= kRows) break;
      const bool ok = copier && r0 + r < len;
      cp_async16(to + n * kRowsPerPass * kStride * int(sizeof(bf16)), ok ? from + int64_t(n) * kRowsPerPass * ld : src,
                 ok);
    }
  };
  using RowsBM = std::integral_constant<int, BM>;
  using RowsBN = std::integral_constant<int, BN>;

  load_tile(sQ, qg, p.ldq, q0, RowsBM{});
  load_tile(sK, kg, p.ldk, tile0 * BN, RowsBN{});
  load_tile(sV, vg, p.ldv, tile0 * BN, RowsBN{});
  cp_async_commit();

  float o[MT][D / 8][4];  // O: rows g, g+8 of each row tile; columns 8j + 2t, +1
  float row_max[MT][2], row_sum[MT][2];  // raw-score max; this lane's part of the sum
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
    for (int j = 0; j < D / 8; ++j) o[mt][j][0] = o[mt][j][1] = o[mt][j][2] = o[mt][j][3] = 0.f;
    row_max[mt][0] = row_max[mt][1] = -INFINITY;
    row_sum[mt][0] = row_sum[mt][1] = 0.f;
  }
  uint32_t qf[C::kQInRegs ? MT : 1][C::kQInRegs ? D / 16 : 1][4];

  const int row_lo = q0 + wrow, row_hi = q0 + wrow + MT * 16 - 1;  // the warp's rows
  for (int it = 0; it < n_tiles; ++it) {
    const int stage = it & 1;
    const int k0 = (tile0 + it) * BN;
    cp_async_wait_all();
    // Tile `it` is visible to every warp, and every warp is done with tile it-1, whose buffers
    // the copy below refills.
    __syncthreads();
    if (it + 1 < n_tiles) {
      load_tile(sK + (stage ^ 1) * BN * kStride, kg, p.ldk, k0 + BN, RowsBN{});
      load_tile(sV + (stage ^ 1) * BN * kStride, vg, p.ldv, k0 + BN, RowsBN{});
    }
    cp_async_commit();
    // Q's A fragments, when they stay in registers: read once, with the first tile. (The wgmma
    // kernel re-reads them per tile, as ptxas reused such registers there; here the run on the
    // H200 checked every configuration.)
    if constexpr (C::kQInRegs) {
      if (it == 0) {
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
          for (int kk = 0; kk < D / 16; ++kk)
            ldmatrix_x4(smem_addr(sQ + (wrow + mt * 16 + (lane & 15)) * kStride + kk * 16 + (lane >> 4) * 8),
                        qf[mt][kk]);
      }
    }
    // Every (row, key) pair of the warp masked: nothing to add.
    if (row_lo >= len || k0 > row_hi || (window > 0 && k0 + BN - 1 <= row_lo - window)) continue;

    const bf16* Ks = sK + stage * BN * kStride;
    const bf16* Vs = sV + stage * BN * kStride;

    // S = Q K^T. ldmatrix x4 of K gives the B fragments of two 8-key column tiles.
    float s[MT][BN / 8][4];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
      for (int j = 0; j < BN / 8; ++j) s[mt][j][0] = s[mt][j][1] = s[mt][j][2] = s[mt][j][3] = 0.f;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      uint32_t a[MT][4];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
        if constexpr (C::kQInRegs) {
#pragma unroll
          for (int e = 0; e < 4; ++e) a[mt][e] = qf[mt][kk][e];
        } else {
          ldmatrix_x4(smem_addr(sQ + (wrow + mt * 16 + (lane & 15)) * kStride + kk * 16 + (lane >> 4) * 8), a[mt]);
        }
      }
#pragma unroll
      for (int nn = 0; nn < BN / 16; ++nn) {
        uint32_t b[4];  // keys nn*16 + [0, 8): d lo, d hi; keys nn*16 + [8, 16): d lo, d hi
        ldmatrix_x4(smem_addr(Ks + (nn * 16 + (lane & 7) + ((lane >> 4) << 3)) * kStride + kk * 16 +
                              ((lane >> 3) & 1) * 8),
                    b);
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
          mma_bf16(s[mt][2 * nn], a[mt], b[0], b[1]);
          mma_bf16(s[mt][2 * nn + 1], a[mt], b[2], b[3]);
        }
      }
    }

    // Mask where the tile crosses the diagonal, the window's edge or the sequence's end.
    if (k0 + BN - 1 > row_lo || k0 + BN > len || (window > 0 && k0 <= row_hi - window)) {
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) mask_tile(s[mt], row_lo + mt * 16 + g, k0 + 2 * t, len, window);
    }
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) softmax_tile(s[mt], o[mt], row_max[mt], row_sum[mt], p.score_scale);

    // O += bf16(P) V. The S accumulators of key tiles 2kk, 2kk+1 are exactly the A fragment of a
    // 16x16 P tile; ldmatrix.trans of V gives the B fragments of two 8-column output tiles.
#pragma unroll
    for (int kk = 0; kk < BN / 16; ++kk) {
      uint32_t a[MT][4];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) p_fragment(s[mt], kk, a[mt]);
#pragma unroll
      for (int dn = 0; dn < D / 16; ++dn) {
        uint32_t b[4];  // keys [0, 8), [8, 16) of columns dn*16 + [0, 8); then of dn*16 + [8, 16)
        ldmatrix_x4_trans(smem_addr(Vs + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * kStride + dn * 16 +
                                    (lane >> 4) * 8),
                          b);
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
          mma_bf16(o[mt][2 * dn], a[mt], b[0], b[1]);
          mma_bf16(o[mt][2 * dn + 1], a[mt], b[2], b[3]);
        }
      }
    }
  }
  cp_async_wait_all();

  // O / l, rounded to bf16 into the warp's own rows of the Q tile (no other warp reads them),
  // then written out with 16-byte stores. The warp's lanes have all read their Q rows by now.
  __syncwarp();
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) {
    float inv[2];
    row_inverse(row_sum[mt], inv);
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      bf16* dst = sQ + (wrow + mt * 16 + g + 8 * h) * kStride + 2 * t;
#pragma unroll
      for (int j = 0; j < D / 8; ++j)
        *reinterpret_cast<uint32_t*>(dst + j * 8) =
            pack_bf16x2(o[mt][j][2 * h] * inv[h], o[mt][j][2 * h + 1] * inv[h]);
    }
  }
  __syncwarp();
  bf16* og = p.o + seq.offset * p.ldo + int64_t(head) * p.head_dim;
  for (int i = lane; i < MT * 16 * chunks; i += 32) {
    const int r = i / chunks, c = i - r * chunks;
    if (row_lo + r < len)
      *reinterpret_cast<uint4*>(og + int64_t(row_lo + r) * p.ldo + c * 8) =
          *reinterpret_cast<const uint4*>(sQ + (wrow + r) * kStride + c * 8);
  }
}

template <int D, int MT, int BN>
void launch_flash(const Params& p, int n_heads, int n_seqs, int64_t max_len, cudaStream_t s) {
  using C = Flash<D, MT, BN>;
  auto kernel = flash_kernel<D, MT, BN>;
  check_cuda(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(C::kSmemBytes)),
             "attention: shared memory limit");
  const dim3 grid(unsigned(n_heads), unsigned((max_len + C::BM - 1) / C::BM), unsigned(n_seqs));
  kernel<<<grid, C::kThreads, C::kSmemBytes, s>>>(p);
  check_launch("attention (bf16)");
}

Launch mma_launch(int d, int mt, int bn) {
  const int key = d * 10000 + mt * 1000 + bn;
  switch (key) {
    case 32 * 10000 + 2 * 1000 + 64: return launch_flash<32, 2, 64>;
    case 64 * 10000 + 2 * 1000 + 64: return launch_flash<64, 2, 64>;
    case 64 * 10000 + 1 * 1000 + 64: return launch_flash<64, 1, 64>;
    case 80 * 10000 + 2 * 1000 + 64: return launch_flash<80, 2, 64>;
    case 96 * 10000 + 2 * 1000 + 64: return launch_flash<96, 2, 64>;
    case 128 * 10000 + 2 * 1000 + 64: return launch_flash<128, 2, 64>;
    case 128 * 10000 + 2 * 1000 + 32: return launch_flash<128, 2, 32>;
    case 128 * 10000 + 1 * 1000 + 64: return launch_flash<128, 1, 64>;
    case 160 * 10000 + 1 * 1000 + 64: return launch_flash<160, 1, 64>;
    case 192 * 10000 + 1 * 1000 + 32: return launch_flash<192, 1, 32>;
    case 256 * 10000 + 1 * 1000 + 32: return launch_flash<256, 1, 32>;
    default: return nullptr;
  }
}

// The configurations. For each head dimension the first one the device runs is the default.
// The defaults are the mma.sync kernels, checked on an H200 (ziq_cuda_tests, every configuration;
// bench/cuda_attention_bench: d128 286 TFLOP/s causal, d64 235, d80 238, d256 234). The wgmma
// kernels come after them: their first form ran correct there for d128 (291-296 TFLOP/s, wrong
// for d64 until the fix in attention_wgmma.cu), but these versions (Q re-read per tile, the
// overlapped variant) have not yet run on a GPU. Move them first once ziq_cuda_tests passes on an
// H200 and the bench shows them faster.
const FlashConfig kFlash[] = {
    // mma.sync: d, bn, mt
    {32, 64, 2, 0},
    {64, 64, 2, 0},
    {64, 64, 1, 0},
    {80, 64, 2, 0},
    {96, 64, 2, 0},
    {128, 64, 2, 0},
    {128, 32, 2, 0},
    {128, 64, 1, 0},
    {160, 64, 1, 0},
    {192, 32, 1, 0},
    {256, 32, 1, 0},
    // wgmma (sm_90a): d, bn, -, warpgroups, overlap
    {64, 64, 0, 2, true},
    {64, 64, 0, 1, true},
    {64, 64, 0, 2},
    {64, 64, 0, 1},
    {128, 64, 0, 2, true},
    {128, 64, 0, 1, true},
    {128, 64, 0, 2},
    {128, 64, 0, 1},
};
constexpr int kFlashCount = int(sizeof(kFlash) / sizeof(kFlash[0]));

Launch launcher(const FlashConfig& c) {
  return c.warpgroups ? wgmma_launch(c.d, c.bn, c.warpgroups, c.overlap) : mma_launch(c.d, c.mt, c.bn);
}

bool device_is_sm90() {
  int dev = 0, major = 0, minor = 0;
  check_cuda(cudaGetDevice(&dev), "attention: device");
  check_cuda(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev), "attention: device");
  check_cuda(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev), "attention: device");
  return major == 9 && minor == 0;
}

}  // namespace

int flash_config_count() { return kFlashCount; }
FlashConfig flash_config(int i) { return kFlash[i]; }

bool flash_config_supported(int i) {
  return i >= 0 && i < kFlashCount && launcher(kFlash[i]) && (kFlash[i].warpgroups == 0 || device_is_sm90());
}

int flash_default_config(int head_dim) {
  const bool sm90 = device_is_sm90();
  int best = -1;
  for (int i = 0; i < kFlashCount; ++i) {
    const FlashConfig& c = kFlash[i];
    if (c.d < head_dim || (c.warpgroups && !sm90) || !launcher(c)) continue;
    if (best < 0 || c.d < kFlash[best].d) best = i;
  }
  return best;
}

void attention_bf16_config(int config, const bf16* q, int64_t ldq, const bf16* k, int64_t ldk, const bf16* v,
                           int64_t ldv, bf16* out, int64_t ldo, const DevSeqSpan* seqs, int n_seqs, int64_t max_len,
                           int n_heads, int n_kv_heads, int head_dim, float scale, int64_t window, cudaStream_t s) {
  if (!flash_config_supported(config) || kFlash[config].d < head_dim)
    fail("attention (bf16): no kernel configuration " + std::to_string(config) + " for head_dim " +
         std::to_string(head_dim) + " on this device");
  // 16-byte copies of each head's rows.
  if (ldq % 8 || ldk % 8 || ldv % 8 || ldo % 8 || !aligned16(q) || !aligned16(k) || !aligned16(v) ||
      !aligned16(out))
    fail("attention (bf16): q, k, v and out need 16-byte aligned rows (strides multiples of 8)");
  const Params p{q,   k,   v,   out, ldq, ldk, ldv, ldo, seqs, n_heads / n_kv_heads, head_dim,
                 scale * 1.4426950408889634f, window};
  launcher(kFlash[config])(p, n_heads, n_seqs, max_len, s);
}

}  // namespace ziq::backend::cuda
