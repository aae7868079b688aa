#include "codec/model_codec.h"

#define XXH_INLINE_ALL
#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "codec/range_coder.h"
#include "core/content_hash.h"
#include "core/error.h"
#include "model/model.h"
#include "text/utf8.h"
#include "tok/tokenizer.h"

namespace ziq::codec {

namespace {

constexpr char kMagic[4] = {'Z', 'I', 'Q', '1'};
constexpr uint8_t kVersion = 1;
constexpr uint32_t kMaxChunk = 1u << 24;

uint64_t xxh64(std::string_view s) { return XXH3_64bits(s.data(), s.size()); }
uint32_t hash32(std::string_view s) { return uint32_t(xxh64(s)); }  // a chunk's checksums: XXH3-64's low half

// ---- little-endian writing and bounds-checked reading ----
void put_u8(std::string& o, uint8_t v) { o.push_back(char(v)); }
void put_u16(std::string& o, uint16_t v) { for (int i = 0; i < 2; ++i) o.push_back(char(v >> (8 * i))); }
void put_u32(std::string& o, uint32_t v) { for (int i = 0; i < 4; ++i) o.push_back(char(v >> (8 * i))); }
void put_u64(std::string& o, uint64_t v) { for (int i = 0; i < 8; ++i) o.push_back(char(v >> (8 * i))); }
// LEB128: 7 bits a byte, low bits first, the high bit set on every byte but the last.
void put_varint(std::string& o, uint64_t v) {
  for (; v >= 0x80; v >>= 7) o.push_back(char(uint8_t(v | 0x80)));
  o.push_back(char(uint8_t(v)));
}
// Reads a varint at the start of s (at most 9 bytes); false when s ends first or it is too long.
bool get_varint(std::string_view s, uint64_t& v, size_t& used) {
  v = 0;
  for (used = 0; used < s.size() && used < 9; ++used) {
    const uint8_t b = uint8_t(s[used]);
    v |= uint64_t(b & 0x7F) << (7 * used);
    if (!(b & 0x80)) {
      ++used;
      return true;
    }
  }
  return false;
}

void put_str(std::string& o, std::string_view s) {
  if (s.size() > 0xFFFF) internal_error("codec header string of {} bytes", s.size());
  put_u16(o, uint16_t(s.size()));
  o.append(s);
}

class Reader {
 public:
  Reader(std::string_view d, const std::string& where) : d_(d), where_(where) {}
  size_t pos() const { return pos_; }
  std::string_view bytes(size_t n, const std::string& what) {
    if (d_.size() - pos_ < n)
      input_error("{}: truncated: {} needs {} bytes at offset {} but the file ends at {}", where_, what, n, pos_,
                  d_.size());
    std::string_view s = d_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  uint64_t uint(int n, const std::string& what) {
    std::string_view s = bytes(size_t(n), what);
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | uint8_t(s[size_t(i)]);
    return v;
  }
  std::string str(const std::string& what) {
    const size_t n = size_t(uint(2, what));
    return std::string(bytes(n, what));
  }
  uint64_t varint(const std::string& what) {
    uint64_t v = 0;
    size_t used = 0;
    if (!get_varint(d_.substr(pos_), v, used)) {
      if (pos_ + used >= d_.size())
        input_error("{}: truncated: {} ends at offset {} inside a number", where_, what, d_.size());
      input_error("{}: {} is corrupt: a number at offset {} is too long", where_, what, pos_);
    }
    pos_ += used;
    return v;
  }
  bool at_end() const { return pos_ == d_.size(); }

 private:
  std::string_view d_;
  const std::string& where_;
  size_t pos_ = 0;
};

std::string weights_hash(const model::ModelInfo& info) {
  if (info.weight_files.empty()) return "";
  std::string all;
  for (const auto& f : info.weight_files) all += hash_file(f);
  return info.weight_files.size() == 1 ? all : hash_text(all);
}

// The context every chunk starts from: what the tokenizer adds to an empty text.
std::vector<int32_t> context_prefix(const tok::Tokenizer& tokenizer) { return tokenizer.encode("", true); }

struct Chunk {
  uint64_t offset = 0;
  std::string_view bytes;
  ChunkKind kind = ChunkKind::stored;
  std::vector<int32_t> tokens;  // model chunks
  std::string payload;
  uint64_t coder_bytes = 0;
  double model_bits = 0;
};

std::vector<std::pair<uint64_t, uint64_t>> cut(std::string_view in, uint32_t chunk_size) {
  std::vector<std::pair<uint64_t, uint64_t>> spans;
  uint64_t pos = 0;
  while (pos < in.size()) {
    uint64_t end = std::min<uint64_t>(in.size(), pos + chunk_size);
    // Back off (at most 3 bytes) so that a UTF-8 sequence is not cut in two.
    for (int k = 0; k < 3 && end < in.size() && end > pos + 1 && (uint8_t(in[end]) & 0xC0) == 0x80; ++k) --end;
    spans.emplace_back(pos, end - pos);
    pos = end;
  }
  return spans;
}

bool tokenizes_exactly(std::string_view s, const tok::Tokenizer& tokenizer, std::vector<int32_t>& ids) {
  if (text::find_invalid_utf8(s) != std::string_view::npos) return false;
  ids = tokenizer.encode(s, false);
  if (ids.empty()) return false;
  return tokenizer.decode(ids, false) == s;
}

std::string zstd_compress(std::string_view s) {
  std::string out(ZSTD_compressBound(s.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), s.data(), s.size(), 19);
  if (ZSTD_isError(n)) internal_error("zstd: {}", ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

// The model's requests for a chunk of n tokens after the prefix P, running `length` tokens of the
// sequence P + tokens. Rope is sized by the full sequence so that every step agrees.
model::RowsRequest rows_request(const std::vector<int32_t>& seq, int64_t length, int64_t row_begin,
                                int64_t full_length) {
  return {seq.data(), length, row_begin, full_length};
}

}  // namespace

const char* chunk_kind_name(ChunkKind k) {
  switch (k) {
    case ChunkKind::model: return "model";
    case ChunkKind::zstd: return "zstd";
    case ChunkKind::stored: return "stored";
  }
  return "?";
}

ModelIdentity identify(const model::LanguageModel& lm, const tok::Tokenizer& tokenizer) {
  const auto& info = lm.info();
  // The name only for messages: the last part of a path or org/name (no local paths in files).
  const std::string name = std::filesystem::path(info.name).filename().string();
  // The kernel class: the backend's name (its GEMM kernel, which on the CPU also decides the
  // attention kernel) and the environment variables that force other CPU kernels.
  std::string backend = info.backend;
  for (const char* var : {"ZIQ_CPU", "ZIQ_GEMM", "ZIQ_ATTENTION", "ZIQ_AMX"})
    if (const char* v = std::getenv(var); v && *v) backend += fmt::format("; {}={}", var, v);
  return {name.empty() ? info.name : name, info.fingerprint, weights_hash(info), tokenizer.fingerprint(), backend,
          info.precision, info.vocab_size};
}

std::string compress(std::string_view input, model::LanguageModel& lm, const tok::Tokenizer& tokenizer,
                     const CodecOptions& options, CompressStats* stats) {
  if (options.chunk_size < 16 || options.chunk_size > kMaxChunk)
    usage_error("--chunk-size must be between 16 and {} bytes (got {})", kMaxChunk, options.chunk_size);
  const ModelIdentity id = identify(lm, tokenizer);
  const int64_t V = id.vocab_size;
  const std::vector<int32_t> prefix = context_prefix(tokenizer);
  const int64_t P = int64_t(prefix.size());

  std::vector<Chunk> chunks;
  for (const auto& [off, len] : cut(input, options.chunk_size)) {
    Chunk c;
    c.offset = off;
    c.bytes = input.substr(off, len);
    std::vector<int32_t> ids;
    bool ok = tokenizes_exactly(c.bytes, tokenizer, ids);
    for (int32_t t : ids) ok = ok && t >= 0 && t < V;
    if (ok) {
      c.kind = ChunkKind::model;
      c.tokens = std::move(ids);
    } else {
      c.payload = zstd_compress(c.bytes);
      c.kind = ChunkKind::zstd;
      if (c.payload.size() >= c.bytes.size()) {
        c.kind = ChunkKind::stored;
        c.payload = std::string(c.bytes);
      }
    }
    chunks.push_back(std::move(c));
  }

  // Model chunks, a batch at a time: one model call runs every position of every chunk.
  std::vector<size_t> model_chunks;
  for (size_t i = 0; i < chunks.size(); ++i)
    if (chunks[i].kind == ChunkKind::model) model_chunks.push_back(i);
  const size_t B = size_t(std::max(1, options.batch));
  FrequencyTable table;
  size_t done = 0;
  for (size_t b0 = 0; b0 < model_chunks.size(); b0 += B) {
    const size_t nb = std::min(B, model_chunks.size() - b0);
    std::vector<std::vector<int32_t>> seqs(nb);
    std::vector<RangeEncoder> enc(nb);
    std::vector<model::RowsRequest> reqs;
    std::vector<size_t> req_chunk;
    for (size_t k = 0; k < nb; ++k) {
      Chunk& c = chunks[model_chunks[b0 + k]];
      const int64_t n = int64_t(c.tokens.size());
      seqs[k] = prefix;
      seqs[k].insert(seqs[k].end(), c.tokens.begin(), c.tokens.end());
      if (P == 0) {  // no context for the first token: uniform
        enc[k].encode(uint32_t(c.tokens[0]), 1, uint32_t(V));
        c.model_bits += std::log2(double(V));
      }
      // Rows P - 1 .. P + n - 2 predict tokens 0 .. n - 1 (row -1: none when P = 0).
      const int64_t row_begin = std::max<int64_t>(0, P - 1), length = P + n - 1;
      if (length > row_begin) {
        reqs.push_back(rows_request(seqs[k], length, row_begin, P + n));
        req_chunk.push_back(k);
      }
    }
    lm.next_token_logprobs(reqs, [&](size_t r, int64_t row, std::span<const double> lp) {
      const size_t k = req_chunk[r];
      Chunk& c = chunks[model_chunks[b0 + k]];
      const int32_t target = c.tokens[size_t(row + 1 - P)];
      table.quantize(lp);
      enc[k].encode(table.cum[size_t(target)], table.freq(size_t(target)), table.total());
      c.model_bits -= lp[size_t(target)] / std::log(2.0);
    });
    for (size_t k = 0; k < nb; ++k) {
      Chunk& c = chunks[model_chunks[b0 + k]];
      put_varint(c.payload, c.tokens.size());
      const std::string coded = enc[k].finish();
      c.coder_bytes = coded.size();
      c.payload += coded;
    }
    done += nb;
    if (options.progress) options.progress(done, model_chunks.size());
  }

  std::string out(kMagic, 4);
  put_u8(out, kVersion);
  put_str(out, id.name);
  put_str(out, id.fingerprint);
  put_str(out, id.weights_hash);
  put_str(out, id.tokenizer_fingerprint);
  put_str(out, id.backend);
  put_str(out, id.precision);
  put_u64(out, uint64_t(V));
  put_u32(out, options.chunk_size);
  put_u64(out, input.size());
  put_u64(out, chunks.size());
  put_u64(out, xxh64(input));
  put_u64(out, xxh64(out));
  const size_t header_bytes = out.size();
  if (stats) {
    stats->chunks.clear();
    stats->input_bytes = input.size();
    stats->header_bytes = header_bytes;
  }
  for (const Chunk& c : chunks) {
    put_u8(out, uint8_t(c.kind));
    put_varint(out, c.bytes.size());
    put_varint(out, c.payload.size());
    put_u32(out, hash32(c.bytes));
    put_u32(out, hash32(c.payload));
    out += c.payload;
    if (stats)
      stats->chunks.push_back({c.kind, c.offset, c.bytes.size(), c.payload.size(), int64_t(c.tokens.size()),
                               c.coder_bytes, c.model_bits});
  }
  if (stats) stats->output_bytes = out.size();
  return out;
}

namespace {

struct Header {
  ModelIdentity id;
  uint32_t chunk_size = 0;
  uint64_t original_size = 0, n_chunks = 0, original_hash = 0;
};

Header read_header(Reader& r, const std::string& where) {
  const std::string_view magic = r.bytes(4, "the magic number");
  if (magic != std::string_view(kMagic, 4)) input_error("{}: not a ziq compressed file (no ZIQ1 magic)", where);
  const uint64_t version = r.uint(1, "the version");
  if (version != kVersion) input_error("{}: format version {} (this ziq reads version {})", where, version, kVersion);
  Header h;
  h.id.name = r.str("the model name");
  h.id.fingerprint = r.str("the model fingerprint");
  h.id.weights_hash = r.str("the weights hash");
  h.id.tokenizer_fingerprint = r.str("the tokenizer fingerprint");
  h.id.backend = r.str("the backend");
  h.id.precision = r.str("the precision");
  h.id.vocab_size = int64_t(r.uint(8, "the vocabulary size"));
  h.chunk_size = uint32_t(r.uint(4, "the chunk size"));
  h.original_size = r.uint(8, "the original size");
  h.n_chunks = r.uint(8, "the chunk count");
  h.original_hash = r.uint(8, "the checksum");
  return h;
}

}  // namespace

ModelIdentity read_identity(std::string_view file, const std::string& where) {
  Reader r(file, where);
  return read_header(r, where).id;
}

std::string decompress(std::string_view file, model::LanguageModel& lm, const tok::Tokenizer& tokenizer,
                       const CodecOptions& options, const std::string& where) {
  Reader r(file, where);
  const Header h = read_header(r, where);
  const size_t header_end = r.pos();
  const uint64_t header_hash = r.uint(8, "the header checksum");
  if (xxh64(file.substr(0, header_end)) != header_hash) input_error("{}: the header is corrupt (checksum)", where);
  if (h.chunk_size == 0 || h.chunk_size > kMaxChunk) input_error("{}: chunk size {} is invalid", where, h.chunk_size);
  if (h.n_chunks > h.original_size) input_error("{}: {} chunks for {} bytes", where, h.n_chunks, h.original_size);

  // Read and check every chunk's frame first (cheap), so corruption is found before the model runs.
  struct Frame {
    ChunkKind kind;
    uint64_t offset;
    uint32_t bytes;
    std::string_view payload;
    uint64_t hash;
  };
  std::vector<Frame> frames;
  uint64_t offset = 0;
  bool any_model = false;
  for (uint64_t i = 0; i < h.n_chunks; ++i) {
    const std::string what = fmt::format("chunk {} of {}", i, h.n_chunks);
    Frame f;
    const uint64_t kind = r.uint(1, what);
    if (kind > 2) input_error("{}: {} (at byte {} of the original) is corrupt: kind {}", where, what, offset, kind);
    f.kind = ChunkKind(kind);
    const uint64_t bytes = r.varint(what), payload_bytes = r.varint(what);
    if (bytes == 0 || bytes > h.chunk_size || offset + bytes > h.original_size)
      input_error("{}: {} is corrupt: {} bytes", where, what, bytes);
    f.bytes = uint32_t(bytes);
    f.hash = r.uint(4, what);
    const uint64_t payload_hash = r.uint(4, what);
    f.payload = r.bytes(payload_bytes, what);
    f.offset = offset;
    if (hash32(f.payload) != payload_hash)
      input_error("{}: {} (bytes {}..{} of the original) is corrupt (payload checksum)", where, what, offset,
                  offset + f.bytes);
    offset += f.bytes;
    any_model = any_model || f.kind == ChunkKind::model;
    frames.push_back(f);
  }
  if (offset != h.original_size)
    input_error("{}: the chunks hold {} bytes but the header says {}", where, offset, h.original_size);
  if (!r.at_end()) input_error("{}: {} bytes of garbage after the last chunk", where, file.size() - r.pos());

  if (any_model) {
    const ModelIdentity id = identify(lm, tokenizer);
    if (id.fingerprint != h.id.fingerprint || id.weights_hash != h.id.weights_hash ||
        id.vocab_size != h.id.vocab_size)
      input_error("{}: compressed with another model ({}, fingerprint {}, weights {}); this is {} (fingerprint {}, "
                  "weights {}): give that model with --model",
                  where, h.id.name, h.id.fingerprint, h.id.weights_hash.empty() ? "random" : h.id.weights_hash, id.name,
                  id.fingerprint, id.weights_hash.empty() ? "random" : id.weights_hash);
    if (id.tokenizer_fingerprint != h.id.tokenizer_fingerprint)
      input_error("{}: compressed with another tokenizer (fingerprint {}; this model's is {})", where,
                  h.id.tokenizer_fingerprint, id.tokenizer_fingerprint);
    if (id.backend != h.id.backend || id.precision != h.id.precision)
      input_error("{}: compressed with kernel class \"{}\" precision {}, but this machine runs \"{}\" precision {}: "
                  "the model's probabilities would differ in their last bits, so it cannot be decoded here (the "
                  "format's fast mode is tied to one kernel class; decompress on a machine of that class, or "
                  "with the same --backend/--precision)",
                  where, h.id.backend, h.id.precision, id.backend, id.precision);
  }

  std::string out(h.original_size, '\0');
  auto check = [&](size_t i, std::string_view got) {
    if (got.size() != frames[i].bytes || hash32(got) != frames[i].hash)
      input_error("{}: chunk {} of {} (bytes {}..{} of the original) does not decode to its checksum: the file is "
                  "corrupt, or was made with another model or kernel",
                  where, i, h.n_chunks, frames[i].offset, frames[i].offset + frames[i].bytes);
    std::memcpy(out.data() + frames[i].offset, got.data(), got.size());
  };
  std::vector<size_t> model_chunks;
  for (size_t i = 0; i < frames.size(); ++i) {
    const Frame& f = frames[i];
    if (f.kind == ChunkKind::model) {
      model_chunks.push_back(i);
    } else if (f.kind == ChunkKind::stored) {
      check(i, f.payload);
    } else {
      std::string buf(f.bytes, '\0');
      const size_t n = ZSTD_decompress(buf.data(), buf.size(), f.payload.data(), f.payload.size());
      if (ZSTD_isError(n))
        input_error("{}: chunk {} of {} (bytes {}..{} of the original) is corrupt: zstd: {}", where, i, h.n_chunks,
                    f.offset, f.offset + f.bytes, ZSTD_getErrorName(n));
      buf.resize(n);
      check(i, buf);
    }
  }

  const std::vector<int32_t> prefix = context_prefix(tokenizer);
  const int64_t P = int64_t(prefix.size()), V = h.id.vocab_size;
  const size_t B = size_t(std::max(1, options.batch));
  FrequencyTable table;
  size_t done = 0;
  for (size_t b0 = 0; b0 < model_chunks.size(); b0 += B) {
    const size_t nb = std::min(B, model_chunks.size() - b0);
    struct State {
      std::vector<int32_t> seq;  // prefix + decoded tokens
      int64_t n = 0;             // tokens to decode
      std::unique_ptr<RangeDecoder> dec;
    };
    std::vector<State> st(nb);
    int64_t max_n = 0;
    for (size_t k = 0; k < nb; ++k) {
      const size_t i = model_chunks[b0 + k];
      const Frame& f = frames[i];
      uint64_t n = 0;
      size_t used = 0;
      if (!get_varint(f.payload, n, used))
        input_error("{}: chunk {} of {} is corrupt: no token count", where, i, h.n_chunks);
      // A token is at least one byte of text... except for tokenizers that add text on decode; a
      // generous bound still rejects corrupt counts.
      if (n == 0 || n > uint64_t(f.bytes) * 4 + 16)
        input_error("{}: chunk {} of {} is corrupt: {} tokens for {} bytes", where, i, h.n_chunks, n, f.bytes);
      st[k].n = int64_t(n);
      st[k].seq = prefix;
      const auto* p = reinterpret_cast<const uint8_t*>(f.payload.data()) + used;
      st[k].dec = std::make_unique<RangeDecoder>(std::span(p, f.payload.size() - used));
      max_n = std::max(max_n, int64_t(n));
    }
    // With the model's incremental decoder (layers' keys and values kept), each step feeds every
    // chunk the tokens it has not seen yet; without one, each step re-runs the whole prefix.
    std::vector<int64_t> rope_lengths(nb);
    for (size_t k = 0; k < nb; ++k) rope_lengths[k] = P + st[k].n;
    const std::unique_ptr<model::IncrementalDecoder> inc = options.rerun_prefixes ? nullptr : lm.incremental(rope_lengths);
    std::vector<size_t> fed(nb, 0);
    for (int64_t t = 0; t < max_n; ++t) {
      std::vector<model::RowsRequest> reqs;
      std::vector<size_t> req_chunk;
      std::vector<std::vector<int32_t>> feed;
      for (size_t k = 0; k < nb; ++k) {
        State& s = st[k];
        if (t >= s.n) continue;
        if (P == 0 && t == 0) {
          const uint32_t v = s.dec->peek(uint32_t(V));
          s.dec->consume(v, 1, uint32_t(V));
          s.seq.push_back(int32_t(v));
          continue;
        }
        const int64_t length = P + t;
        if (inc) {
          feed.emplace_back(s.seq.begin() + int64_t(fed[k]), s.seq.end());
          fed[k] = s.seq.size();
        } else {
          reqs.push_back(rows_request(s.seq, length, length - 1, P + s.n));
        }
        req_chunk.push_back(k);
      }
      if (req_chunk.empty()) continue;
      std::vector<int32_t> next(req_chunk.size());
      const model::RowsSink sink = [&](size_t r, int64_t, std::span<const double> lp) {
        RangeDecoder& d = *st[req_chunk[r]].dec;
        table.quantize(lp);
        const uint32_t v = d.peek(table.total());
        const size_t sym = table.find(v);
        d.consume(table.cum[sym], table.freq(sym), table.total());
        next[r] = int32_t(sym);
      };
      if (inc)
        inc->step(req_chunk, feed, sink);
      else
        lm.next_token_logprobs(reqs, sink);
      // Appended after the call: the requests point into the sequences.
      for (size_t r = 0; r < req_chunk.size(); ++r) st[req_chunk[r]].seq.push_back(next[r]);
    }
    for (size_t k = 0; k < nb; ++k) {
      const size_t i = model_chunks[b0 + k];
      const std::vector<int32_t> ids(st[k].seq.begin() + P, st[k].seq.end());
      check(i, tokenizer.decode(ids, false));
    }
    done += nb;
    if (options.progress) options.progress(done, model_chunks.size());
  }
  if (xxh64(out) != h.original_hash) input_error("{}: the whole file's checksum does not match", where);
  return out;
}

}  // namespace ziq::codec
