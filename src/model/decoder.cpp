#include "model/decoder.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/aligned_buffer.h"
#include "core/error.h"
#include "model/rope.h"

namespace ziq::model {

using backend::Weight;
using backend::WeightType;

namespace {

float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F, mant = h & 0x3FF, bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000 | (mant << 13);  // inf, nan
  } else if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalize
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while (!(mant & 0x400));
      bits = sign | uint32_t(127 - 15 - e) << 23 | (mant & 0x3FF) << 13;
    }
  } else {
    bits = sign | (exp + 127 - 15) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

std::vector<float> to_f32(const TensorView& t) {
  std::vector<float> out(t.numel());
  for (size_t i = 0; i < out.size(); ++i) {
    if (t.dtype == DType::f32) {
      std::memcpy(&out[i], t.data + 4 * i, 4);
    } else {
      uint16_t v;
      std::memcpy(&v, t.data + 2 * i, 2);
      if (t.dtype == DType::bf16) {
        const uint32_t u = uint32_t(v) << 16;
        std::memcpy(&out[i], &u, 4);
      } else {
        out[i] = half_to_float(v);
      }
    }
  }
  return out;
}

struct Layer {
  Weight q, k, v, o, gate, up, down;
  std::vector<float> attn_norm, mlp_norm, bq, bk, bv, bo, bgate, bup, bdown;
};

const float* opt(const std::vector<float>& v) { return v.empty() ? nullptr : v.data(); }

// ZIQ_PROFILE=1: seconds spent in each stage of the forward pass, printed to stderr when the model
// is released. For finding where the time goes; the backend calls are synchronous.
class StageTimes {
 public:
  enum Stage { embed, norm, qkv, rope, attention, out_proj, mlp, residual, head, count };
  StageTimes() : on_(std::getenv("ZIQ_PROFILE") != nullptr) {}
  ~StageTimes() {
    if (!on_) return;
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
    if (!on_) return fn();
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    seconds_[s] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

 private:
  bool on_;
  double seconds_[count] = {};
};

class Decoder final : public LanguageModel {
 public:
  Decoder(ModelConfig config, DecoderSpec spec, Checkpoint checkpoint, std::unique_ptr<backend::Backend> be,
          ModelInfo info)
      : c_(std::move(config)), spec_(std::move(spec)), ckpt_(std::move(checkpoint)), be_(std::move(be)),
        info_(std::move(info)) {
    const int64_t H = c_.hidden_size, I = c_.intermediate_size, D = c_.head_dim;
    const int64_t q_dim = c_.n_heads * D, kv_dim = c_.n_kv_heads * D;
    embed_ = matrix("model.embed_tokens.weight", c_.vocab_size, H);
    for (int64_t l = 0; l < c_.n_layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      Layer L;
      L.attn_norm = vec(p + "input_layernorm.weight", H);
      L.mlp_norm = vec(p + "post_attention_layernorm.weight", H);
      L.q = matrix(p + "self_attn.q_proj.weight", q_dim, H);
      L.k = matrix(p + "self_attn.k_proj.weight", kv_dim, H);
      L.v = matrix(p + "self_attn.v_proj.weight", kv_dim, H);
      L.o = matrix(p + "self_attn.o_proj.weight", H, q_dim);
      L.gate = matrix(p + "mlp.gate_proj.weight", I, H);
      L.up = matrix(p + "mlp.up_proj.weight", I, H);
      L.down = matrix(p + "mlp.down_proj.weight", H, I);
      if (spec_.qkv_bias) {
        L.bq = vec(p + "self_attn.q_proj.bias", q_dim);
        L.bk = vec(p + "self_attn.k_proj.bias", kv_dim);
        L.bv = vec(p + "self_attn.v_proj.bias", kv_dim);
      }
      if (spec_.o_bias) L.bo = vec(p + "self_attn.o_proj.bias", H);
      if (spec_.mlp_bias) {
        L.bgate = vec(p + "mlp.gate_proj.bias", I);
        L.bup = vec(p + "mlp.up_proj.bias", I);
        L.bdown = vec(p + "mlp.down_proj.bias", H);
      }
      layers_.push_back(std::move(L));
    }
    final_norm_ = vec("model.norm.weight", H);
    head_ = c_.tie_word_embeddings ? embed_ : matrix("lm_head.weight", c_.vocab_size, H);
  }

  const ModelInfo& info() const override { return info_; }

  void score(std::span<const ScoreRequest> batch, std::span<ScoreResult> out, bool want_token_logprobs) override {
    if (out.size() != batch.size()) internal_error("score: {} results for {} requests", out.size(), batch.size());
    // Pack the windows row after row: window r runs on tokens[0, length - 1).
    std::vector<int32_t> ids;
    std::vector<backend::SeqSpan> seqs;
    std::vector<float> cos, sin;
    std::vector<int64_t> score_rows;  // packed row whose output predicts each scored target
    std::vector<int32_t> targets;
    for (const ScoreRequest& r : batch) {
      if (r.length < 1 || r.score_begin < 1 || r.score_begin > r.length)
        internal_error("score: window of length {} scoring from {}", r.length, r.score_begin);
      for (int64_t i = 0; i < r.length; ++i)
        if (r.tokens[i] < 0 || r.tokens[i] >= c_.vocab_size)
          input_error("{}: token id {} is outside the model's vocabulary of {} (tokenizer and model do not match?)",
                      info_.path, r.tokens[i], c_.vocab_size);
      const int64_t n = r.length - 1, offset = int64_t(ids.size());
      seqs.push_back({offset, n});
      ids.insert(ids.end(), r.tokens, r.tokens + n);
      append_rope(r.length, n, cos, sin);
      for (int64_t j = r.score_begin; j < r.length; ++j) {
        score_rows.push_back(offset + j - 1);
        targets.push_back(r.tokens[j]);
      }
    }
    std::vector<double> lp(targets.size());
    if (!ids.empty()) forward(ids, seqs, cos, sin, score_rows, targets, lp);
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

 private:
  // The rope tables of positions [0, n) of a window of `length` tokens, appended to cos and sin.
  // transformers sizes dynamic rope by the input it runs, which in the reference is the whole
  // window; for every other rope the frequencies do not depend on it, and the tables computed
  // once (in double, per position) are copied.
  void append_rope(int64_t length, int64_t n, std::vector<float>& cos, std::vector<float>& sin) {
    const std::vector<float> inv = rope_inv_freq(c_, length);
    const int64_t half = int64_t(inv.size());
    if (inv != rope_inv_ || int64_t(rope_cos_.size()) < n * half) {
      rope_inv_ = inv;
      rope_cos_.clear();
      rope_sin_.clear();
      rope_tables(inv, n, rope_cos_, rope_sin_);
    }
    cos.insert(cos.end(), rope_cos_.begin(), rope_cos_.begin() + n * half);
    sin.insert(sin.end(), rope_sin_.begin(), rope_sin_.begin() + n * half);
  }

  // A work buffer of at least n floats, kept between calls (allocating and zero-filling the
  // activations anew for every batch cost a small model as much as some of its stages).
  static float* buffer(std::vector<float>& b, int64_t n) {
    if (b.size() < size_t(n)) b.resize(size_t(n));
    return b.data();
  }

  void forward(const std::vector<int32_t>& ids, const std::vector<backend::SeqSpan>& seqs,
               const std::vector<float>& cos, const std::vector<float>& sin, const std::vector<int64_t>& score_rows,
               const std::vector<int32_t>& targets, std::vector<double>& lp) {
    backend::Backend& be = *be_;
    const int64_t M = int64_t(ids.size()), H = c_.hidden_size, I = c_.intermediate_size, D = c_.head_dim;
    const int64_t q_dim = c_.n_heads * D, kv_dim = c_.n_kv_heads * D;
    const float eps = float(c_.rms_norm_eps), scale = float(1.0 / std::sqrt(double(D)));
    constexpr int64_t kMlpRows = 2048;  // bounds the [rows, intermediate] buffers
    const int64_t mlp_rows = std::min(M, kMlpRows);
    float* h = buffer(h_, M * H);
    float* x = buffer(x_, M * H);
    float* q = buffer(q_, M * q_dim);
    float* k = buffer(k_, M * kv_dim);
    float* v = buffer(v_, M * kv_dim);
    float* att = buffer(att_, M * q_dim);
    // Not zero-filled: a backend that fuses the MLP never touches (so never maps) it.
    mlp_scratch_.resize(size_t(2 * mlp_rows * I));
    using St = StageTimes;
    times_.time(St::embed, [&] { be.embed(embed_, ids.data(), M, h); });
    for (size_t l = 0; l < layers_.size(); ++l) {
      const Layer& L = layers_[l];
      times_.time(St::norm, [&] { be.rmsnorm(h, L.attn_norm.data(), M, H, eps, x); });
      times_.time(St::qkv, [&] {
        const backend::Backend::Product qkv[] = {{&L.q, opt(L.bq), q}, {&L.k, opt(L.bk), k}, {&L.v, opt(L.bv), v}};
        be.matmul_many(x, M, qkv);
      });
      times_.time(St::rope, [&] {
        be.rope(q, M, c_.n_heads, D, cos.data(), sin.data());
        be.rope(k, M, c_.n_kv_heads, D, cos.data(), sin.data());
      });
      times_.time(St::attention, [&] {
        be.attention(q, k, v, att, seqs, c_.n_heads, c_.n_kv_heads, D, scale, spec_.window[l]);
      });
      times_.time(St::out_proj, [&] { be.matmul(att, M, L.o, opt(L.bo), x); });
      times_.time(St::residual, [&] { be.add(h, x, M * H); });
      times_.time(St::norm, [&] { be.rmsnorm(h, L.mlp_norm.data(), M, H, eps, x); });
      times_.time(St::mlp, [&] {
        const backend::Backend::Mlp mlp{&L.gate, &L.up, &L.down, opt(L.bgate), opt(L.bup), opt(L.bdown)};
        // In place: rows [r0, r0 + n) of x are not read again once their output is written.
        for (int64_t r0 = 0; r0 < M; r0 += kMlpRows)
          be.gated_mlp(x + r0 * H, std::min(kMlpRows, M - r0), mlp, x + r0 * H, mlp_scratch_.data());
      });
      times_.time(St::residual, [&] { be.add(h, x, M * H); });
    }
    // Only the rows that predict scored targets go through the final norm and the head.
    const int64_t S = int64_t(score_rows.size());
    if (S == 0) return;
    float* hs = buffer(hs_, S * H);
    float* hn = buffer(hn_, S * H);
    for (int64_t i = 0; i < S; ++i) std::memcpy(hs + i * H, h + score_rows[i] * H, H * sizeof(float));
    times_.time(St::head, [&] {
      be.rmsnorm(hs, final_norm_.data(), S, H, eps, hn);
      be.logprobs(hn, S, head_, targets.data(), lp.data());
    });
  }

  const TensorView& tensor(const std::string& name, std::vector<int64_t> shape) {
    const TensorView& t = ckpt_.get(name);
    if (t.shape != shape)
      input_error("{}: tensor '{}' has shape {} but {} implies {}", t.file, name, nlohmann::json(t.shape).dump(),
                  c_.path, nlohmann::json(shape).dump());
    return t;
  }

  Weight matrix(const std::string& name, int64_t rows, int64_t cols) {
    const TensorView& t = tensor(name, {rows, cols});
    if (t.dtype == DType::bf16) return {WeightType::bf16, t.data, rows, cols};
    if (t.dtype == DType::f32) return {WeightType::f32, t.data, rows, cols};
    owned_.push_back(to_f32(t));  // f16: widened once (exact)
    return {WeightType::f32, owned_.back().data(), rows, cols};
  }

  std::vector<float> vec(const std::string& name, int64_t n) { return to_f32(tensor(name, {n})); }

  ModelConfig c_;
  DecoderSpec spec_;
  Checkpoint ckpt_;
  std::unique_ptr<backend::Backend> be_;
  ModelInfo info_;
  std::vector<std::vector<float>> owned_;
  Weight embed_, head_;
  std::vector<Layer> layers_;
  std::vector<float> final_norm_;
  StageTimes times_;
  std::vector<float> rope_inv_, rope_cos_, rope_sin_;  // append_rope's tables
  std::vector<float> h_, x_, q_, k_, v_, att_, hs_, hn_;  // forward's activations
  AlignedBuffer<float> mlp_scratch_;                      // grows, never zero-filled
};

}  // namespace

std::unique_ptr<LanguageModel> make_decoder(ModelConfig config, DecoderSpec spec, Checkpoint checkpoint,
                                            std::unique_ptr<backend::Backend> backend, ModelInfo info) {
  return std::make_unique<Decoder>(std::move(config), std::move(spec), std::move(checkpoint), std::move(backend),
                                   std::move(info));
}

}  // namespace ziq::model
