#include "tok/tokenizer_json.h"

#include <lzma.h>

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "core/json_depth.h"
#include "core/mapped_file.h"
#include "tok/added_tokens.h"
#include "tok/bpe.h"
#include "tok/decoders.h"
#include "tok/normalizers.h"
#include "tok/post_processors.h"
#include "tok/pre_tokenizers.h"
#include "tok/unicode.h"
#include "tok/unigram.h"

namespace ziq::tok {

std::string read_maybe_xz(const std::string& path) {
  MappedFile f(path);
  std::string_view in = f.view();
  static constexpr char kMagic[] = {'\xFD', '7', 'z', 'X', 'Z', '\0'};
  if (in.size() < 6 || in.compare(0, 6, std::string_view(kMagic, 6)) != 0) return std::string(in);
  lzma_stream s = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&s, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK) internal_error("{}: cannot start xz decoder", path);
  std::string out;
  out.resize(in.size() * 8);
  s.next_in = reinterpret_cast<const uint8_t*>(in.data());
  s.avail_in = in.size();
  size_t done = 0;
  for (;;) {
    if (done == out.size()) out.resize(out.size() * 2);
    s.next_out = reinterpret_cast<uint8_t*>(out.data()) + done;
    s.avail_out = out.size() - done;
    lzma_ret r = lzma_code(&s, LZMA_FINISH);
    done = out.size() - s.avail_out;
    if (r == LZMA_STREAM_END) break;
    if (r != LZMA_OK) {
      lzma_end(&s);
      input_error("{}: corrupt or truncated xz data (liblzma error {})", path, int(r));
    }
  }
  lzma_end(&s);
  out.resize(done);
  return out;
}

namespace {

uint64_t fnv1a(std::string_view s, uint64_t h = 0xcbf29ce484222325ull) {
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

class JsonTokenizer : public Tokenizer {
 public:
  JsonTokenizer(const std::string& json_path, const std::string& config_path) {
    std::string text = read_maybe_xz(json_path);
    std::string file = json_path;
    check_json_depth(text, file);
    Json j = Json::parse(text, nullptr, false);
    if (j.is_discarded()) input_error("{}: not valid JSON", file);
    if (!j.is_object()) input_error("{}: expected a JSON object at the top", file);
    JsonPlace root{file, ""};
    uint64_t h = fnv1a(text);
    if (!config_path.empty()) h = fnv1a(read_maybe_xz(config_path), h);
    fingerprint_ = fmt::format("{:016x}", h);

    if (auto it = j.find("truncation"); it != j.end() && !it->is_null())
      field_error(root.at("truncation"), "truncation would cut documents; ziq supports only null");

    normalizer_ = make_normalizer(j.value("normalizer", Json()), root.at("normalizer"));
    pre_ = make_pre_tokenizer(j.value("pre_tokenizer", Json()), root.at("pre_tokenizer"));
    byte_level_ = pre_ && pre_->byte_level();

    const Json& model = require(j, "model", root);
    JsonPlace mp = root.at("model");
    std::string type = model.is_object() && model.contains("type") ? get_string(model, "type", mp) : "BPE";
    if (type == "BPE") {
      model_ = std::make_unique<BpeModel>(model, mp, byte_level_);
    } else if (type == "Unigram") {
      if (byte_level_) field_error(mp, "a Unigram model behind a ByteLevel pre-tokenizer is not supported");
      model_ = std::make_unique<UnigramModel>(model, mp);
    } else {
      unknown_type(mp, "model", type);
    }

    // Added tokens.
    if (auto it = j.find("added_tokens"); it != j.end() && !it->is_null()) {
      JsonPlace ap = root.at("added_tokens");
      if (!it->is_array()) field_error(ap, "expected an array");
      const int64_t id_limit = int64_t(model_->vocab_size()) * 16 + int64_t(it->size()) + 4096;
      for (size_t k = 0; k < it->size(); ++k) {
        const Json& t = (*it)[k];
        JsonPlace tp = ap.at(k);
        AddedToken a;
        a.content = get_string(t, "content", tp);
        if (a.content.empty()) field_error(tp.at("content"), "empty");
        int64_t id = opt_int(t, "id", tp, -1);
        if (id < 0 || id >= id_limit) field_error(tp.at("id"), "id " + std::to_string(id) + " out of range");
        a.id = TokenId(id);
        a.special = opt_bool(t, "special", tp, false);
        a.normalized = opt_bool(t, "normalized", tp, !a.special);
        a.lstrip = opt_bool(t, "lstrip", tp, false);
        a.rstrip = opt_bool(t, "rstrip", tp, false);
        a.single_word = opt_bool(t, "single_word", tp, false);
        if (utf8_invalid_at(a.content) != std::string::npos) field_error(tp.at("content"), "not valid UTF-8");
        added_.add(std::move(a));
      }
    }
    added_.finalize(normalizer_.get());
    // Like tokenizers' get_vocab_size(): the model's tokens plus added tokens outside it.
    vocab_size_ = model_->vocab_size();
    id_bound_ = model_->id_bound();
    for (const auto& t : added_.tokens()) {
      if (!model_->id_to_token(t.id)) ++vocab_size_;
      id_bound_ = std::max(id_bound_, size_t(t.id) + 1);
    }
    post_ = make_post_processor(j.value("post_processor", Json()), root.at("post_processor"), id_bound_);
    decoder_ = make_decoder(j.value("decoder", Json()), root.at("decoder"));
    if (!config_path.empty()) apply_config_template(config_path, h);
  }

  // tokenizer_config.json as transformers 4.x (what the paper ran) reads it: LlamaTokenizerFast,
  // CodeLlamaTokenizerFast and GemmaTokenizerFast (also when the config names the slow class: the
  // fast one is what AutoTokenizer loads with a tokenizer.json) replace tokenizer.json's
  // post-processor at load (their update_post_processor) by the template
  //   [bos_token if add_bos_token] $A [eos_token if add_eos_token],
  // add_bos_token true and add_eos_token false when absent (null: false, as Python's None). So a
  // DeepSeek folder (LlamaTokenizerFast, add_bos_token true, a ByteLevel tokenizer.json without
  // BOS) gets BOS, and add_bos_token false drops a BOS that tokenizer.json adds. bos_token and
  // eos_token come from tokenizer_config.json, then special_tokens_map.json (read later: it wins),
  // else the class's defaults ("<s>" / "</s>"; Gemma "<bos>" / "<eos>"). Other classes
  // (PreTrainedTokenizerFast, Qwen2Tokenizer, GPT2Tokenizer, ...) ignore add_bos_token in 4.x: the
  // post-processor stays.
  void apply_config_template(const std::string& config_path, uint64_t& hash) {
    const Json c = Json::parse(read_maybe_xz(config_path), nullptr, false);
    const JsonPlace at{config_path, ""};
    if (c.is_discarded() || !c.is_object()) field_error(at, "not a JSON object");
    std::string cls = opt_string(c, "tokenizer_class", at);
    if (cls.ends_with("Fast")) cls.resize(cls.size() - 4);
    if (cls != "LlamaTokenizer" && cls != "CodeLlamaTokenizer" && cls != "GemmaTokenizer") return;
    auto flag = [&](const char* key, bool fallback) {
      auto it = c.find(key);
      return it == c.end() ? fallback : !it->is_null() && opt_bool(c, key, at, fallback);
    };
    const bool add_bos = flag("add_bos_token", true), add_eos = flag("add_eos_token", false);
    const bool gemma = cls == "GemmaTokenizer";
    std::string bos = gemma ? "<bos>" : "<s>", eos = gemma ? "<eos>" : "</s>";
    std::string bos_from = config_path, eos_from = config_path;
    auto read_tokens = [&](const Json& j, const std::string& file) {
      const JsonPlace place{file, ""};
      if (j.contains("bos_token")) bos = token_field_text(j["bos_token"], place.at("bos_token")), bos_from = file;
      if (j.contains("eos_token")) eos = token_field_text(j["eos_token"], place.at("eos_token")), eos_from = file;
    };
    read_tokens(c, config_path);
    const std::string map_path =
        (std::filesystem::path(config_path).parent_path() / "special_tokens_map.json").string();
    if (std::filesystem::exists(map_path)) {
      const std::string text = read_maybe_xz(map_path);
      const Json m = Json::parse(text, nullptr, false);
      if (m.is_discarded() || !m.is_object()) input_error("{}: not a JSON object", map_path);
      read_tokens(m, map_path);
      hash = fnv1a(text, hash);
      fingerprint_ = fmt::format("{:016x}", hash);
    }
    auto id_of = [&](const std::string& token, const std::string& file, const char* field) {
      if (token.empty()) input_error("{}: add_{} is on but {} is null", file, field, field);
      if (auto id = added_.find(token)) return *id;
      if (auto id = model_->token_to_id(token)) return *id;
      input_error("{}: {} {:?} is not in the tokenizer's vocabulary", file, field, token);
    };
    std::vector<TokenId> before, after;
    if (add_bos) before.push_back(id_of(bos, bos_from, "bos_token"));
    if (add_eos) after.push_back(id_of(eos, eos_from, "eos_token"));
    post_ = make_wrap_post_processor(std::move(before), std::move(after));
  }

  std::vector<TokenId> encode(std::string_view text, bool add_special) const override {
    if (size_t bad = utf8_invalid_at(text); bad != std::string_view::npos)
      input_error("text to encode is not valid UTF-8 (byte {})", bad);
    std::vector<TokenId> ids;
    ids.reserve(text.size() / 3 + 4);
    std::vector<Segment> segments;
    added_.split(text, false, segments);
    for (const Segment& s : segments) {
      if (s.id >= 0) ids.push_back(s.id);
      else encode_segment(s.text, s.offset == 0, ids);
    }
    if (add_special && post_) post_->add_special(ids);
    return ids;
  }

  std::string decode(const std::vector<TokenId>& ids, bool skip_special) const override {
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (TokenId id : ids) {
      if (const AddedToken* a = added_.find(id)) {
        if (!(skip_special && a->special)) tokens.push_back(a->content);
      } else if (const std::string* t = model_->id_to_token(id)) {
        tokens.push_back(*t);
      }
    }
    std::string out;
    if (decoder_) {
      decoder_->decode(tokens);
      for (const auto& t : tokens) out += t;
    } else {
      for (size_t k = 0; k < tokens.size(); ++k) out += (k ? " " : "") + tokens[k];
    }
    return out;
  }

  size_t vocab_size() const override { return vocab_size_; }
  std::string kind() const override { return "tokenizer.json"; }
  std::string fingerprint() const override { return fingerprint_; }

 private:
  void encode_segment(std::string_view text, bool at_start, std::vector<TokenId>& ids) const {
    std::string normalized;
    if (normalizer_) {
      normalized.assign(text);
      normalizer_->normalize(normalized);
      text = normalized;
    }
    if (!added_.has_normalized()) {
      encode_pieces(text, at_start, ids);
      return;
    }
    std::vector<Segment> parts;
    added_.split(text, true, parts);
    for (const Segment& s : parts) {
      if (s.id >= 0) ids.push_back(s.id);
      else encode_pieces(s.text, at_start && s.offset == 0, ids);
    }
  }

  void encode_pieces(std::string_view text, bool at_start, std::vector<TokenId>& ids) const {
    if (!pre_) {
      model_->encode(text, ids);
      return;
    }
    thread_local Pieces pieces;
    pieces.clear();
    pieces.list.push_back({text, at_start});
    pre_->pre_tokenize(pieces);
    for (const Piece& p : pieces.list) model_->encode(p.text, ids);
  }

  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_;
  std::unique_ptr<TokenModel> model_;
  std::unique_ptr<PostProcessor> post_;
  std::unique_ptr<Decoder> decoder_;
  AddedVocabulary added_;
  bool byte_level_ = false;
  size_t vocab_size_ = 0, id_bound_ = 0;  // id_bound_: every valid id is below it
  std::string fingerprint_;
};

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer_json(const std::string& json_path, const std::string& config_path) {
  return std::make_unique<JsonTokenizer>(json_path, config_path);
}

}  // namespace ziq::tok
