#include "tok/tokenizer_json.h"

#include <lzma.h>

#include <algorithm>

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
