#include "model/decoder.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <string_view>
#include <nlohmann/json.hpp>

#include "backend/host_convert.h"
#include "core/error.h"
#include "model/rope.h"

namespace ziq::model {

using backend::Backend;
using backend::Buffer;
using backend::HostMatrix;
using backend::NormKind;
using backend::Tensor;

namespace {

backend::DType backend_dtype(DType t) {
  switch (t) {
    case DType::bf16: return backend::DType::bf16;
    case DType::f16: return backend::DType::f16;
    case DType::f32: return backend::DType::f32;
  }
  return backend::DType::f32;
}

struct Layer {
  std::unique_ptr<Tensor> q, k, v, o, gate, up, down;
  std::unique_ptr<Tensor> bq, bk, bv, bo, bgate, bup, bdown;
  // Norm weights; null where the family's block has no such norm.
  std::unique_ptr<Tensor> pre_attn_norm, post_attn_norm, pre_mlp_norm, post_mlp_norm, q_norm, k_norm;
};

// ZIQ_PROFILE=1: seconds spent in each stage of the forward pass, printed to stderr when the model
// is released. For finding where the time goes: each stage waits for the backend's ops to finish
// (on cuda this removes the overlap of launches with work, so the total grows a little). The first
// forward pass is left out: it loads kernels and allocates buffers.
class StageTimes {
 public:
  enum Stage { embed, norm, qkv, rope, attention, out_proj, mlp, residual, head, count };
  explicit StageTimes(Backend* be) : on_(std::getenv("ZIQ_PROFILE") != nullptr), be_(be) {}
  void start_pass() { ++passes_; }
  ~StageTimes() {
    if (!on_) return;
    std::fprintf(stderr, "profile of %d forward passes (the first one left out)\n", passes_ > 0 ? passes_ - 1 : 0);
    static const char* names[count] = {"embed",    "norm", "qkv",     "rope", "attention",
                                       "out_proj", "mlp",  "residual", "head"};
    double total = 0;
    for (double s : seconds_) total += s;
    for (int i = 0; i < count; ++i)
      std::fprintf(stderr, "profile %-10s %9.3f s %5.1f%%\n", names[i], seconds_[i], 100 * seconds_[i] / total);
  }
  // Runs fn and adds its time to the stage.
  template <typename Fn>
  void time(Stage s, Fn&& fn) {
    if (!on_ || passes_ < 2) return fn();
    be_->synchronize();
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    be_->synchronize();
    seconds_[s] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

 private:
  bool on_;
  Backend* be_;
  int passes_ = 0;
  double seconds_[count] = {};
};

class Decoder final : public LanguageModel {
 public:
  Decoder(ModelConfig config, DecoderSpec spec, std::optional<Checkpoint> checkpoint, std::unique_ptr<Backend> be,
          ModelInfo info, uint64_t seed, bool allow_unused_weights)
      : c_(std::move(config)), spec_(std::move(spec)), ckpt_(std::move(checkpoint)), be_(std::move(be)),
        info_(std::move(info)), seed_(seed), times_(be_.get()) {
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t H = c_.hidden_size, I = c_.intermediate_size, D = c_.head_dim;
    const int64_t q_dim = c_.n_heads * D, kv_dim = c_.n_kv_heads * D;
    info_.backend = be_->name();
    info_.precision = be_->precision();
    embed_ = matrix("model.embed_tokens.weight", c_.vocab_size, H);
    for (int64_t l = 0; l < c_.n_layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      Layer L;
      auto block_norm = [&](const std::string& name) {
        return name.empty() ? nullptr : norm_weight(p + name + ".weight", H);
      };
      L.pre_attn_norm = block_norm(spec_.pre_attn_norm);
      L.post_attn_norm = block_norm(spec_.post_attn_norm);
      L.pre_mlp_norm = block_norm(spec_.pre_mlp_norm);
      L.post_mlp_norm = block_norm(spec_.post_mlp_norm);
      if (spec_.qk_norm != QkNorm::none) {
        const bool full = spec_.qk_norm == QkNorm::full;
        L.q_norm = norm_weight(p + "self_attn.q_norm.weight", full ? q_dim : D);
        L.k_norm = norm_weight(p + "self_attn.k_norm.weight", full ? kv_dim : D);
      }
      L.q = matrix(p + "self_attn.q_proj.weight", q_dim, H);
      L.k = matrix(p + "self_attn.k_proj.weight", kv_dim, H);
      L.v = matrix(p + "self_attn.v_proj.weight", kv_dim, H);
      L.o = matrix(p + "self_attn.o_proj.weight", H, q_dim);
      L.gate = matrix(p + "mlp.gate_proj.weight", I, H);
      L.up = matrix(p + "mlp.up_proj.weight", I, H);
      L.down = matrix(p + "mlp.down_proj.weight", H, I);
      if (spec_.qkv_bias) {
        L.bq = bias(p + "self_attn.q_proj.bias", q_dim);
        L.bk = bias(p + "self_attn.k_proj.bias", kv_dim);
        L.bv = bias(p + "self_attn.v_proj.bias", kv_dim);
      }
      if (spec_.o_bias) L.bo = bias(p + "self_attn.o_proj.bias", H);
      if (spec_.mlp_bias) {
        L.bgate = bias(p + "mlp.gate_proj.bias", I);
        L.bup = bias(p + "mlp.up_proj.bias", I);
        L.bdown = bias(p + "mlp.down_proj.bias", H);
      }
      layers_.push_back(std::move(L));
    }
    final_norm_ = norm_weight("model.norm.weight", H);
    if (!c_.tie_word_embeddings) head_ = matrix("lm_head.weight", c_.vocab_size, H);
    check_unused_tensors(allow_unused_weights);
    be_->synchronize();
    info_.load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  const ModelInfo& info() const override { return info_; }
  void check_weights_finite() const override {
    if (ckpt_) ckpt_->check_finite();
  }
  int64_t peak_memory() const override { return be_->peak_memory(); }

  int suggested_batch(int64_t window_tokens) const override {
    const int64_t free = be_->free_memory();
    if (free == 0) return 4;  // host memory: the CPU backends
    // Activation bytes per packed row (h in f32; x, y, q, k, v, attention output in the
    // activation type), and the backend's fixed scratch (MLP blocks, head logits) as a margin.
    const int64_t H = c_.hidden_size, q_dim = c_.n_heads * c_.head_dim, kv_dim = c_.n_kv_heads * c_.head_dim;
    const int64_t A = int64_t(be_->act_bytes());
    const int64_t per_row = 4 * H + A * (2 * H + 2 * q_dim + 2 * kv_dim) + 4 * H;  // + the scored rows' copies
    const int64_t margin = int64_t(6) << 30;
    const int64_t rows = std::max<int64_t>(0, free - margin) / per_row;
    return int(std::clamp<int64_t>(rows / std::max<int64_t>(1, window_tokens), 1, 16));
  }

  void score(std::span<const ScoreRequest> batch, std::span<ScoreResult> out, bool want_token_logprobs) override {
    if (out.size() != batch.size()) internal_error("score: {} results for {} requests", out.size(), batch.size());
    // Pack the windows row after row: window r runs on tokens[0, length - 1).
    clear_batch();
    for (const ScoreRequest& r : batch) {
      if (r.length < 1 || r.score_begin < 1 || r.score_begin > r.length)
        internal_error("score: window of length {} scoring from {}", r.length, r.score_begin);
      check_tokens(r.tokens, r.length);
      const int64_t n = r.length - 1, offset = int64_t(ids_.size());
      seqs_.push_back({offset, n});
      ids_.insert(ids_.end(), r.tokens, r.tokens + n);
      const int32_t base = rope_base(r.length, n);
      for (int64_t i = 0; i < n; ++i) rope_rows_.push_back(base + int32_t(i));
      for (int64_t j = r.score_begin; j < r.length; ++j) {
        score_rows_.push_back(int32_t(offset + j - 1));
        targets_.push_back(r.tokens[j]);
      }
    }
    if (ids_.size() > size_t(INT32_MAX)) input_error("score: a batch of {} rows is too large", ids_.size());
    std::vector<double> lp(targets_.size());
    if (!ids_.empty()) {
      forward_layers();
      head_logprobs(lp);
    }
    size_t t = 0;
    for (size_t b = 0; b < batch.size(); ++b) {
      ScoreResult& res = out[b];
      res.nll_nats = 0;
      res.token_logprobs.clear();
      for (int64_t j = batch[b].score_begin; j < batch[b].length; ++j, ++t) {
        res.nll_nats -= lp[t];
        if (want_token_logprobs) res.token_logprobs.push_back(float(lp[t]));
      }
    }
  }

  // Incremental decoding (IncrementalDecoder). Per sequence and layer, the host keeps the rows of
  // q (after rope), k (after rope) and v that the layers made so far, in the activation type. A
  // step: the new rows run every row-wise op (norms, products, rope, MLP) as a batch of their own;
  // each layer's attention runs on the whole sequences, packed from the host copies (all rows are
  // recomputed by the attention op, O(T) per new token; only the new rows' outputs are kept). Every
  // op sees the same inputs for a row as in a full forward pass, so the bits are the same.
  class Incremental final : public IncrementalDecoder {
   public:
    Incremental(Decoder& d, std::span<const int64_t> rope_lengths)
        : d_(d), rope_length_(rope_lengths.begin(), rope_lengths.end()), len_(rope_lengths.size(), 0),
          cache_(rope_lengths.size(), std::vector<LayerCache>(d.layers_.size())) {}
    void step(std::span<const size_t> seqs, std::span<const std::vector<int32_t>> tokens,
              const RowsSink& sink) override {
      d_.incremental_step(*this, seqs, tokens, sink);
    }
    struct LayerCache {
      std::vector<uint8_t> q, k, v;
    };
    Decoder& d_;
    std::vector<int64_t> rope_length_, len_;
    std::vector<std::vector<LayerCache>> cache_;  // [sequence][layer]
  };

  std::unique_ptr<IncrementalDecoder> incremental(std::span<const int64_t> rope_lengths) override {
    return std::make_unique<Incremental>(*this, rope_lengths);
  }

  void incremental_step(Incremental& inc, std::span<const size_t> seq_ids, std::span<const std::vector<int32_t>> tokens,
                        const RowsSink& sink) {
    if (seq_ids.size() != tokens.size()) internal_error("incremental step: {} sequences, {} token lists", seq_ids.size(), tokens.size());
    clear_batch();
    std::vector<std::pair<size_t, int64_t>> owner;
    std::vector<backend::SeqSpan> full_seqs;
    int64_t full_rows = 0;
    for (size_t r = 0; r < seq_ids.size(); ++r) {
      const size_t s = seq_ids[r];
      const auto& t = tokens[r];
      if (s >= inc.len_.size() || t.empty()) internal_error("incremental step: sequence {} with {} tokens", s, t.size());
      check_tokens(t.data(), int64_t(t.size()));
      const int64_t n = int64_t(t.size()), offset = int64_t(ids_.size()), before = inc.len_[s];
      seqs_.push_back({offset, n});
      ids_.insert(ids_.end(), t.begin(), t.end());
      const int32_t base = rope_base(std::max(inc.rope_length_[s], before + n), before + n);
      for (int64_t i = 0; i < n; ++i) rope_rows_.push_back(base + int32_t(before + i));
      score_rows_.push_back(int32_t(offset + n - 1));
      targets_.push_back(0);
      owner.emplace_back(r, before + n - 1);
      full_seqs.push_back({full_rows, before + n});
      full_rows += before + n;
    }
    if (ids_.size() > size_t(INT32_MAX) || full_rows > INT32_MAX) input_error("incremental step: too many rows");
    const std::vector<int32_t> full_ids(size_t(full_rows), 0), full_rope(size_t(full_rows), 0);
    const std::vector<int32_t> no_rows;
    const backend::Batch new_batch{ids_, rope_rows_, seqs_, score_rows_, targets_};
    const backend::Batch full_batch{full_ids, full_rope, full_seqs, no_rows, no_rows};

    Backend& be = *be_;
    const int64_t M = int64_t(ids_.size());
    const int64_t H = c_.hidden_size, D = c_.head_dim;
    const int64_t q_dim = c_.n_heads * D, kv_dim = c_.n_kv_heads * D;
    const float scale = attention_scale();
    const size_t A = be.act_bytes();
    const Acts a = acts(M);
    void* fq = fq_.get(*this, full_rows * q_dim * A);
    void* fk = fk_.get(*this, full_rows * kv_dim * A);
    void* fv = fv_.get(*this, full_rows * kv_dim * A);
    void* fatt = fatt_.get(*this, full_rows * q_dim * A);
    const size_t qrow = size_t(q_dim) * A, kvrow = size_t(kv_dim) * A;
    std::vector<uint8_t> hq(size_t(M) * qrow), hk(size_t(M) * kvrow), hv(size_t(M) * kvrow), hatt(size_t(M) * qrow);
    std::vector<uint8_t> pq(size_t(full_rows) * qrow), pk(size_t(full_rows) * kvrow), pv(size_t(full_rows) * kvrow),
        patt(size_t(full_rows) * qrow);
    be.set_batch(new_batch);
    embed(a.h, M);
    for (size_t l = 0; l < layers_.size(); ++l) {
      layer_before_attention(l, M, a);
      be.download(hq.data(), a.q, hq.size());
      be.download(hk.data(), a.k, hk.size());
      be.download(hv.data(), a.v, hv.size());
      // Append the new rows to each sequence's cache and pack the whole sequences.
      for (size_t r = 0; r < seq_ids.size(); ++r) {
        auto& cache = inc.cache_[seq_ids[r]][l];
        const size_t off = size_t(seqs_[r].offset), n = size_t(seqs_[r].length);
        cache.q.insert(cache.q.end(), hq.begin() + off * qrow, hq.begin() + (off + n) * qrow);
        cache.k.insert(cache.k.end(), hk.begin() + off * kvrow, hk.begin() + (off + n) * kvrow);
        cache.v.insert(cache.v.end(), hv.begin() + off * kvrow, hv.begin() + (off + n) * kvrow);
        const size_t foff = size_t(full_seqs[r].offset);
        std::copy(cache.q.begin(), cache.q.end(), pq.begin() + foff * qrow);
        std::copy(cache.k.begin(), cache.k.end(), pk.begin() + foff * kvrow);
        std::copy(cache.v.begin(), cache.v.end(), pv.begin() + foff * kvrow);
      }
      be.upload(fq, pq.data(), pq.size());
      be.upload(fk, pk.data(), pk.size());
      be.upload(fv, pv.data(), pv.size());
      be.set_batch(full_batch);
      be.attention(fq, fk, fv, fatt, c_.n_heads, c_.n_kv_heads, D, scale, spec_.window[l], spec_.attn_softcap);
      be.download(patt.data(), fatt, patt.size());
      for (size_t r = 0; r < seq_ids.size(); ++r) {
        const size_t n = size_t(seqs_[r].length), off = size_t(seqs_[r].offset);
        const size_t last = size_t(full_seqs[r].offset + full_seqs[r].length);
        std::copy(patt.begin() + (last - n) * qrow, patt.begin() + last * qrow, hatt.begin() + off * qrow);
      }
      be.upload(a.att, hatt.data(), hatt.size());
      be.set_batch(new_batch);
      layer_after_attention(l, M, a);
    }
    if (!layers_.empty()) be.add(a.h, a.y, M, H);
    for (size_t r = 0; r < seq_ids.size(); ++r) inc.len_[seq_ids[r]] += int64_t(tokens[r].size());
    head_rows(owner, sink);
  }

 private:
  void clear_batch() {
    ids_.clear();
    rope_rows_.clear();
    seqs_.clear();
    score_rows_.clear();
    targets_.clear();
  }
  void check_tokens(const int32_t* tokens, int64_t n) const {
    for (int64_t i = 0; i < n; ++i)
      if (tokens[i] < 0 || tokens[i] >= c_.vocab_size)
        input_error("{}: token id {} is outside the model's vocabulary of {} (tokenizer and model do not match?)",
                    info_.path, tokens[i], c_.vocab_size);
  }

  // The first rope-table row of a window of `length` tokens whose positions [0, n) run through the
  // model. transformers sizes dynamic rope by the input it runs, which in the reference is the
  // whole window; for every other rope the frequencies do not depend on it. Each distinct set of
  // frequencies gets its rows of the backend's tables (computed in double per position, loaded
  // once; a longer window than seen before loads them again, longer).
  int32_t rope_base(int64_t length, int64_t n) {
    const std::vector<float> inv = rope_inv_freq(c_, length);
    const int64_t half = int64_t(inv.size());
    auto it = rope_regions_.find(inv);
    if (it == rope_regions_.end() || it->second.second < n) {
      const int64_t rows = std::max<int64_t>(n, it == rope_regions_.end() ? 0 : it->second.second);
      const int64_t base = int64_t(rope_cos_host_.size()) / half;
      if (base + rows > INT32_MAX) internal_error("rope tables of {} rows", base + rows);
      rope_tables(inv, rows, rope_cos_host_, rope_sin_host_);
      rope_regions_[inv] = {base, rows};
      const int64_t total = int64_t(rope_cos_host_.size()) / half;
      rope_cos_ = be_->load_vector(rope_cos_host_.data(), total, half);
      rope_sin_ = be_->load_vector(rope_sin_host_.data(), total, half);
      it = rope_regions_.find(inv);
    }
    return int32_t(it->second.first);
  }

  // Activation buffers, grown to the batch and kept between batches.
  void* buffer(std::unique_ptr<Buffer>& b, size_t& have, size_t bytes) {
    if (!b || have < bytes) {
      b.reset();  // free before allocating the larger one (device memory)
      b = be_->alloc(bytes);
      have = bytes;
    }
    return b->data();
  }
  struct Slot {
    std::unique_ptr<Buffer> buf;
    size_t bytes = 0;
    void* get(Decoder& d, size_t n) { return d.buffer(buf, bytes, n); }
  };

  // The activations of M rows (buffers grown as needed).
  struct Acts {
    float* h;
    void *x, *y, *q, *k, *v, *att;
  };
  Acts acts(int64_t M) {
    const int64_t H = c_.hidden_size, q_dim = c_.n_heads * c_.head_dim, kv_dim = c_.n_kv_heads * c_.head_dim;
    const size_t A = be_->act_bytes();
    return {static_cast<float*>(h_.get(*this, M * H * 4)), x_.get(*this, M * H * A), y_.get(*this, M * H * A),
            q_.get(*this, M * q_dim * A),  k_.get(*this, M * kv_dim * A), v_.get(*this, M * kv_dim * A),
            att_.get(*this, M * q_dim * A)};
  }

  // Layer l up to attention's inputs: the first norm (with the previous layer's residual add), q, k,
  // v and rope, on the M rows of the batch.
  void layer_before_attention(size_t l, int64_t M, const Acts& a) {
    Backend& be = *be_;
    const Layer& L = layers_[l];
    const int64_t D = c_.head_dim;
    const float eps = float(c_.rms_norm_eps);
    using St = StageTimes;
    // The residual add of the previous layer's MLP rides with this layer's first norm.
    block_input(L.pre_attn_norm.get(), l > 0, M, a);
    times_.time(St::qkv, [&] {
      const Backend::Product qkv[] = {{L.q.get(), L.bq.get(), a.q}, {L.k.get(), L.bk.get(), a.k}, {L.v.get(), L.bv.get(), a.v}};
      be.matmul_many(a.x, M, qkv);
    });
    if (L.q_norm)
      times_.time(St::norm, [&] {
        const bool full = spec_.qk_norm == QkNorm::full;
        be.norm_act(NormKind::rms, a.q, *L.q_norm, full ? M : M * c_.n_heads, eps);
        be.norm_act(NormKind::rms, a.k, *L.k_norm, full ? M : M * c_.n_kv_heads, eps);
      });
    times_.time(St::rope, [&] {
      be.rope(a.q, c_.n_heads, D, D, *rope_cos_, *rope_sin_);
      be.rope(a.k, c_.n_kv_heads, D, D, *rope_cos_, *rope_sin_);
    });
  }

  // Layer l after attention: the output product (and post-norm), the MLP's input (the residual
  // add and its pre-norm), the MLP (and post-norm); its residual add is the next layer's, or the final one.
  void layer_after_attention(size_t l, int64_t M, const Acts& a) {
    Backend& be = *be_;
    const Layer& L = layers_[l];
    const float eps = float(c_.rms_norm_eps);
    using St = StageTimes;
    times_.time(St::out_proj, [&] { be.matmul(a.att, M, *L.o, L.bo.get(), a.y); });
    if (L.post_attn_norm) times_.time(St::norm, [&] { be.norm_act(NormKind::rms, a.y, *L.post_attn_norm, M, eps); });
    block_input(L.pre_mlp_norm.get(), true, M, a);
    times_.time(St::mlp, [&] {
      const Backend::Mlp mlp{L.gate.get(), L.up.get(), L.down.get(), L.bgate.get(), L.bup.get(), L.bdown.get(),
                             spec_.mlp_act};
      be.gated_mlp(a.x, M, mlp, a.y);
    });
    if (L.post_mlp_norm) times_.time(St::norm, [&] { be.norm_act(NormKind::rms, a.y, *L.post_mlp_norm, M, eps); });
  }

  // x = the input of a sub-block: its pre-norm of h, or h itself; a pending residual add (y, the
  // previous sub-block's output) rides with the norm.
  void block_input(const Tensor* pre_norm, bool pending, int64_t M, const Acts& a) {
    Backend& be = *be_;
    const float eps = float(c_.rms_norm_eps);
    times_.time(StageTimes::norm, [&] {
      if (pre_norm && pending) be.add_norm(NormKind::rms, a.h, a.y, *pre_norm, nullptr, M, eps, a.x);
      else if (pre_norm) be.norm(NormKind::rms, a.h, *pre_norm, nullptr, M, eps, a.x);
      else {
        if (pending) be.add(a.h, a.y, M, c_.hidden_size);
        be.to_act(a.h, M * c_.hidden_size, a.x);
      }
    });
  }

  // The embedding rows of the batch into h (Gemma scales them by sqrt(hidden)).
  void embed(float* h, int64_t M) {
    be_->embed(*embed_, h);
    if (spec_.embed_scale != 1) be_->scale(h, M * c_.hidden_size, spec_.embed_scale);
  }

  float attention_scale() const {
    return spec_.attn_scale > 0 ? spec_.attn_scale : float(1.0 / std::sqrt(double(c_.head_dim)));
  }

  void forward_layers() {
    Backend& be = *be_;
    const int64_t M = int64_t(ids_.size()), D = c_.head_dim;
    const float scale = attention_scale();
    const Acts a = acts(M);
    be.set_batch({ids_, rope_rows_, seqs_, score_rows_, targets_});
    times_.start_pass();
    using St = StageTimes;
    times_.time(St::embed, [&] { embed(a.h, M); });
    for (size_t l = 0; l < layers_.size(); ++l) {
      layer_before_attention(l, M, a);
      times_.time(St::attention, [&] {
        be.attention(a.q, a.k, a.v, a.att, c_.n_heads, c_.n_kv_heads, D, scale, spec_.window[l], spec_.attn_softcap);
      });
      layer_after_attention(l, M, a);
    }
    times_.time(St::residual, [&] {
      if (!layers_.empty()) be.add(a.h, a.y, M, c_.hidden_size);
    });
  }

  // Only the rows that predict scored targets go through the final norm and the head: hn_ holds
  // them, normed, afterwards. Returns the number of rows.
  int64_t final_norm_scored() {
    Backend& be = *be_;
    const int64_t S = int64_t(score_rows_.size()), H = c_.hidden_size;
    if (S == 0) return 0;
    float* h = static_cast<float*>(h_.buf->data());
    float* hs = static_cast<float*>(hs_.get(*this, S * H * 4));
    void* hn = hn_.get(*this, S * H * be.act_bytes());
    be.gather_scored(h, H, hs);
    be.norm(NormKind::rms, hs, *final_norm_, nullptr, S, float(c_.rms_norm_eps), hn);
    return S;
  }

  void head_logprobs(std::vector<double>& lp) {
    Backend& be = *be_;
    if (score_rows_.empty()) return;
    times_.time(StageTimes::head, [&] {
      final_norm_scored();
      be.logprobs(hn_.buf->data(), head_ ? *head_ : *embed_, spec_.final_softcap);
      be.download_logprobs(lp);
    });
  }

 public:
  // Full rows: the same layers as score(), then the final norm of the requested rows and, a block
  // of rows at a time (at most ~64 MB of logits), the head as a plain matrix product whose logits
  // (act_type: f32 on the CPU backends) come to the host. There, per row in f64 and in index order:
  // m = max logit, s = sum exp(logit - m), logprob = (logit - m) - ln s. A row's logits are the
  // GEMM's, which do not depend on the number of rows in the product (the CPU backends' property),
  // so the rows are bit-identical however they are batched.
  void next_token_logprobs(std::span<const RowsRequest> batch, const RowsSink& sink) override {
    clear_batch();
    std::vector<std::pair<size_t, int64_t>> owner;  // per scored row: (request, row)
    for (size_t b = 0; b < batch.size(); ++b) {
      const RowsRequest& r = batch[b];
      if (r.length < 1 || r.row_begin < 0 || r.row_begin > r.length)
        internal_error("next_token_logprobs: sequence of length {} from row {}", r.length, r.row_begin);
      check_tokens(r.tokens, r.length);
      const int64_t n = r.length, offset = int64_t(ids_.size());
      seqs_.push_back({offset, n});
      ids_.insert(ids_.end(), r.tokens, r.tokens + n);
      const int32_t base = rope_base(std::max(r.rope_length, n), n);
      for (int64_t i = 0; i < n; ++i) rope_rows_.push_back(base + int32_t(i));
      for (int64_t j = r.row_begin; j < n; ++j) {
        score_rows_.push_back(int32_t(offset + j));
        targets_.push_back(0);
        owner.emplace_back(b, j);
      }
    }
    if (ids_.size() > size_t(INT32_MAX)) input_error("next_token_logprobs: a batch of {} rows is too large", ids_.size());
    if (ids_.empty() || score_rows_.empty()) return;
    forward_layers();
    head_rows(owner, sink);
  }

  // The final norm and the head on the batch's scored rows, a block at a time, to `sink` as
  // (owner[row].first, owner[row].second, logprobs); see next_token_logprobs.
  void head_rows(const std::vector<std::pair<size_t, int64_t>>& owner, const RowsSink& sink) {
    Backend& be = *be_;
    const int64_t S = final_norm_scored(), V = c_.vocab_size, H = c_.hidden_size;
    const size_t A = be.act_bytes();
    const int64_t block = std::clamp<int64_t>((int64_t(64) << 20) / (V * 4), 1, S);
    void* logits = logits_.get(*this, size_t(block * V) * A);
    std::vector<uint8_t> host(size_t(block * V) * A);
    std::vector<float> row_f32(static_cast<size_t>(V));
    std::vector<double> lp(static_cast<size_t>(V));
    const Tensor& head = head_ ? *head_ : *embed_;
    const char* hn = static_cast<const char*>(hn_.buf->data());
    for (int64_t r0 = 0; r0 < S; r0 += block) {
      const int64_t m = std::min(block, S - r0);
      be.matmul(hn + size_t(r0 * H) * A, m, head, nullptr, logits);
      be.download(host.data(), logits, size_t(m * V) * A);
      for (int64_t i = 0; i < m; ++i) {
        const uint8_t* src = host.data() + size_t(i * V) * A;
        const float* x = row_f32.data();
        if (be.act_type() == backend::DType::f32) {
          x = reinterpret_cast<const float*>(src);
        } else {
          const HostMatrix hm{be.act_type(), src, 1, V, V};
          backend::stack_to_f32(std::span(&hm, 1), row_f32.data());
        }
        if (spec_.final_softcap > 0) {  // Gemma 2: cap * tanh(logit / cap), as the fused head does
          const float cap = spec_.final_softcap;
          if (x != row_f32.data()) std::copy(x, x + V, row_f32.begin());
          for (int64_t v = 0; v < V; ++v) row_f32[size_t(v)] = cap * std::tanh(row_f32[size_t(v)] / cap);
          x = row_f32.data();
        }
        double mx = -INFINITY;
        for (int64_t v = 0; v < V; ++v) mx = std::max(mx, double(x[v]));
        double sum = 0;
        for (int64_t v = 0; v < V; ++v) sum += std::exp(double(x[v]) - mx);
        const double lse = std::log(sum);
        for (int64_t v = 0; v < V; ++v) lp[size_t(v)] = (double(x[v]) - mx) - lse;
        const auto& [req, row] = owner[size_t(r0 + i)];
        sink(req, row, lp);
      }
    }
  }

 private:

  // transformers runs a checkpoint with more layers than config.json names (with a warning), and
  // gives another model's figures; ziq refuses unless asked. Stored rotary tables are not weights.
  void check_unused_tensors(bool allow) {
    if (!ckpt_) return;
    std::vector<std::string> unused;
    for (const auto& [name, t] : ckpt_->tensors()) {
      const bool rotary = std::string_view(name).ends_with(".rotary_emb.inv_freq");
      const bool tied_head = c_.tie_word_embeddings && name == "lm_head.weight";
      if (!rotary && !tied_head && !used_.count(name)) unused.push_back(name);
    }
    if (unused.empty()) return;
    info_.unused_tensors = unused;
    if (allow) return;
    std::string list;
    for (size_t i = 0; i < unused.size() && i < 8; ++i) list += (i ? ", " : "") + unused[i];
    if (unused.size() > 8) list += fmt::format(" and {} more", unused.size() - 8);
    input_error("{}: {} tensor(s) are not used by the model {} describes (num_hidden_layers {}): {}; give "
                "--allow-unused-weights to run it anyway",
                ckpt_->where(), unused.size(), c_.path, c_.n_layers, list);
  }

  const TensorView* tensor(const std::string& name, std::vector<int64_t> shape) {
    if (!ckpt_) return nullptr;
    const TensorView& t = ckpt_->get(name);
    used_.insert(name);
    if (t.shape != shape)
      input_error("{}: tensor '{}' has shape {} but {} implies {}", t.file, name, nlohmann::json(t.shape).dump(),
                  c_.path, nlohmann::json(shape).dump());
    return &t;
  }

  // Random weights: each tensor its own seed (from the model's seed and the tensor's name), scaled
  // as transformers' initializer_range (0.02) scales its normal init.
  uint64_t tensor_seed(const std::string& name) const {
    uint64_t h = seed_ ^ 0xcbf29ce484222325ull;
    for (unsigned char ch : name) h = (h ^ ch) * 0x100000001b3ull;
    return h;
  }

  std::unique_ptr<Tensor> matrix(const std::string& name, int64_t rows, int64_t cols) {
    const TensorView* t = tensor(name, {rows, cols});
    if (!t) return be_->random_matrix(rows, cols, tensor_seed(name), 0.02f * std::sqrt(3.0f));
    const HostMatrix m{backend_dtype(t->dtype), t->data, rows, cols, cols};
    return be_->load_matrix(m);
  }

  std::vector<float> host_vector(const std::string& name, int64_t n, float fallback) {
    const TensorView* t = tensor(name, {n});
    std::vector<float> v(size_t(n), fallback);
    if (t) {
      const HostMatrix m{backend_dtype(t->dtype), t->data, 1, n, n};
      backend::stack_to_f32(std::span(&m, 1), v.data());
    }
    return v;
  }

  std::unique_ptr<Tensor> norm_weight(const std::string& name, int64_t n) {
    std::vector<float> v = host_vector(name, n, 1.0f - spec_.norm_offset);  // random weights: norms of 1
    if (spec_.norm_offset != 0)
      for (float& f : v) f = spec_.norm_offset + f;
    return be_->load_vector(v.data(), 1, n);
  }
  std::unique_ptr<Tensor> bias(const std::string& name, int64_t n) {
    const std::vector<float> v = host_vector(name, n, 0.0f);
    return be_->load_vector(v.data(), 1, n);
  }

  ModelConfig c_;
  DecoderSpec spec_;
  std::optional<Checkpoint> ckpt_;
  std::unique_ptr<Backend> be_;
  ModelInfo info_;
  uint64_t seed_;
  std::unique_ptr<Tensor> embed_, head_, final_norm_;
  std::vector<Layer> layers_;
  std::set<std::string> used_;  // the checkpoint's tensors read so far
  StageTimes times_;
  // Rope tables: host copies of every region, and the backend's tables of all of them.
  std::map<std::vector<float>, std::pair<int64_t, int64_t>> rope_regions_;  // inv_freq -> (first row, rows)
  std::vector<float> rope_cos_host_, rope_sin_host_;
  std::unique_ptr<Tensor> rope_cos_, rope_sin_;
  // The batch being scored (score() fills them; forward() hands them to the backend).
  std::vector<int32_t> ids_, rope_rows_, score_rows_, targets_;
  std::vector<backend::SeqSpan> seqs_;
  Slot h_, x_, y_, q_, k_, v_, att_, hs_, hn_, logits_;  // forward's activations (logits_: full rows)
  Slot fq_, fk_, fv_, fatt_;  // incremental decoding: the whole sequences' q, k, v and attention output
};

}  // namespace

std::unique_ptr<LanguageModel> make_decoder(ModelConfig config, DecoderSpec spec, std::optional<Checkpoint> checkpoint,
                                            std::unique_ptr<Backend> backend, ModelInfo info, uint64_t random_seed,
                                            bool allow_unused_weights) {
  return std::make_unique<Decoder>(std::move(config), std::move(spec), std::move(checkpoint), std::move(backend),
                                   std::move(info), random_seed, allow_unused_weights);
}

}  // namespace ziq::model
