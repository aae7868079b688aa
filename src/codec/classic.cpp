#include "codec/classic.h"

#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>

#include "core/error.h"
#include "core/progress.h"
#include "core/threads.h"
#include "text/corpus.h"

namespace ziq::codec {

const char* codec_name(ClassicCodec c) {
  switch (c) {
    case ClassicCodec::gzip9: return "gzip -9";
    case ClassicCodec::xz9e: return "xz -9e";
    case ClassicCodec::zstd19: return "zstd -19";
  }
  return "?";
}

static const char* codec_id(ClassicCodec c) {
  switch (c) {
    case ClassicCodec::gzip9: return "gzip";
    case ClassicCodec::xz9e: return "xz";
    case ClassicCodec::zstd19: return "zstd";
  }
  return "?";
}

const std::vector<ClassicCodec>& all_classic_codecs() {
  static const std::vector<ClassicCodec> all = {ClassicCodec::gzip9, ClassicCodec::xz9e, ClassicCodec::zstd19};
  return all;
}

void ClassicCompressor::emit(const char* data, size_t n) {
  out_bytes_ += n;
  if (sink_ && n) sink_(std::string_view(data, n));
}

namespace {

constexpr size_t kOut = 1 << 16;

class GzipCompressor final : public ClassicCompressor {
 public:
  GzipCompressor() {
    // windowBits 15 + 16: gzip wrapper. zlib's default header is gzip -n's: no name, mtime 0,
    // XFL 2 (level 9), OS 3 (Unix).
    if (deflateInit2(&z_, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      internal_error("zlib: deflateInit2 failed");
  }
  ~GzipCompressor() override { deflateEnd(&z_); }
  void write(std::string_view data) override {
    while (!data.empty()) {  // avail_in is 32-bit
      size_t n = std::min<size_t>(data.size(), 1u << 30);
      run(data.substr(0, n), Z_NO_FLUSH);
      data.remove_prefix(n);
    }
  }
  void finish() override { run({}, Z_FINISH); }

 private:
  void run(std::string_view in, int flush) {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    char out[kOut];
    int rc;
    do {
      z_.next_out = reinterpret_cast<Bytef*>(out);
      z_.avail_out = kOut;
      rc = deflate(&z_, flush);
      if (rc == Z_STREAM_ERROR) internal_error("zlib: deflate failed");
      emit(out, kOut - z_.avail_out);
    } while (z_.avail_out == 0 || z_.avail_in > 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
  }
  z_stream z_{};
};

class XzCompressor final : public ClassicCompressor {
 public:
  XzCompressor() {
    if (lzma_easy_encoder(&s_, 9 | LZMA_PRESET_EXTREME, LZMA_CHECK_CRC64) != LZMA_OK)
      internal_error("liblzma: cannot create the xz -9e encoder (out of memory?)");
  }
  ~XzCompressor() override { lzma_end(&s_); }
  void write(std::string_view data) override {
    if (!data.empty()) run(data, LZMA_RUN);  // liblzma reports calls without progress as errors
  }
  void finish() override { run({}, LZMA_FINISH); }

 private:
  void run(std::string_view in, lzma_action action) {
    s_.next_in = reinterpret_cast<const uint8_t*>(in.data());
    s_.avail_in = in.size();
    uint8_t out[kOut];
    while (true) {
      s_.next_out = out;
      s_.avail_out = kOut;
      lzma_ret rc = lzma_code(&s_, action);
      emit(reinterpret_cast<char*>(out), kOut - s_.avail_out);
      if (rc == LZMA_STREAM_END) return;
      if (rc != LZMA_OK) internal_error("liblzma: compression failed (error {})", static_cast<int>(rc));
      if (action == LZMA_RUN && s_.avail_in == 0 && s_.avail_out > 0) return;
    }
  }
  lzma_stream s_ = LZMA_STREAM_INIT;
};

class ZstdCompressor final : public ClassicCompressor {
 public:
  ZstdCompressor() : c_(ZSTD_createCCtx()) {
    if (!c_) internal_error("zstd: cannot create a compression context");
    ZSTD_CCtx_setParameter(c_, ZSTD_c_compressionLevel, 19);
    ZSTD_CCtx_setParameter(c_, ZSTD_c_checksumFlag, 1);  // the CLI's default
  }
  ~ZstdCompressor() override { ZSTD_freeCCtx(c_); }
  void write(std::string_view data) override {
    if (!data.empty()) run(data, ZSTD_e_continue);
  }
  void finish() override { run({}, ZSTD_e_end); }

 private:
  void run(std::string_view data, ZSTD_EndDirective mode) {
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    char out[kOut];
    while (true) {
      ZSTD_outBuffer ob{out, kOut, 0};
      size_t rc = ZSTD_compressStream2(c_, &ob, &in, mode);
      if (ZSTD_isError(rc)) internal_error("zstd: compression failed ({})", ZSTD_getErrorName(rc));
      emit(out, ob.pos);
      if (mode == ZSTD_e_end ? rc == 0 : in.pos == in.size) return;
    }
  }
  ZSTD_CCtx* c_;
};

}  // namespace

std::unique_ptr<ClassicCompressor> ClassicCompressor::create(ClassicCodec codec, Sink sink) {
  std::unique_ptr<ClassicCompressor> c;
  switch (codec) {
    case ClassicCodec::gzip9: c = std::make_unique<GzipCompressor>(); break;
    case ClassicCodec::xz9e: c = std::make_unique<XzCompressor>(); break;
    case ClassicCodec::zstd19: c = std::make_unique<ZstdCompressor>(); break;
  }
  c->sink_ = std::move(sink);
  return c;
}

// ---- Baselines over a corpus --------------------------------------------------------------------

namespace {
// Text gathered per subset before the codecs run on it: small enough that reading and compressing
// alternate (the progress bar moves), large enough that starting threads costs nothing.
constexpr size_t kBatch = 1 << 20;

struct SubsetState {
  SubsetBaseline figures;
  std::string pending;
  std::vector<std::unique_ptr<ClassicCompressor>> compressors;
};
}  // namespace

struct Baselines::Impl {
  std::vector<ClassicCodec> codecs;
  int threads;
  std::vector<std::unique_ptr<SubsetState>> subsets;
  size_t last = 0;
  uint64_t empty_documents = 0;

  SubsetState& find(const std::string& name) {
    if (last < subsets.size() && subsets[last]->figures.subset == name) return *subsets[last];
    for (last = 0; last < subsets.size(); ++last)
      if (subsets[last]->figures.subset == name) return *subsets[last];
    auto s = std::make_unique<SubsetState>();
    s->figures.subset = name;
    for (auto c : codecs) s->compressors.push_back(ClassicCompressor::create(c));
    subsets.push_back(std::move(s));
    return *subsets.back();
  }

  // Runs every codec of the subset on its pending text, one codec per thread.
  void flush(SubsetState& s) {
    parallel_for(s.compressors.size(), threads, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) s.compressors[i]->write(s.pending);
    });
    s.pending.clear();
  }

  // The rest of every subset, all (subset, codec) pairs in parallel, and the streams' ends.
  void finish_all() {
    size_t nc = codecs.size();
    parallel_for(subsets.size() * nc, threads, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) {
        SubsetState& s = *subsets[i / nc];
        s.compressors[i % nc]->write(s.pending);
        s.compressors[i % nc]->finish();
      }
    });
  }
};

Baselines::Baselines(std::vector<ClassicCodec> codecs, int threads) : impl_(std::make_unique<Impl>()) {
  impl_->codecs = std::move(codecs);
  impl_->threads = resolve_threads(threads);
}

Baselines::~Baselines() = default;

void Baselines::add(const std::string& subset, std::string_view content) {
  if (content.empty()) {
    ++impl_->empty_documents;
    return;
  }
  SubsetState& s = impl_->find(subset);
  s.figures.documents += 1;
  s.figures.characters += text::count_code_points(content);
  s.figures.bytes += content.size();
  s.pending.append(content);
  if (s.pending.size() >= kBatch) impl_->flush(s);
}

BaselineReport Baselines::finish() {
  BaselineReport r;
  r.empty_documents = impl_->empty_documents;
  for (auto c : impl_->codecs) r.overall.push_back({c});
  impl_->finish_all();
  for (auto& s : impl_->subsets) {
    SubsetBaseline f = s->figures;
    for (size_t i = 0; i < impl_->codecs.size(); ++i) {
      CodecFigures cf{impl_->codecs[i], s->compressors[i]->compressed_bytes()};
      cf.bpc = 8.0 * cf.compressed_bytes / f.characters;
      cf.bpb = 8.0 * cf.compressed_bytes / f.bytes;
      f.codecs.push_back(cf);
      auto& o = r.overall[i];
      o.compressed_bytes += cf.compressed_bytes;
      o.mean_bpc += cf.bpc / impl_->subsets.size();
      o.mean_bpb += cf.bpb / impl_->subsets.size();
    }
    r.characters += f.characters;
    r.bytes += f.bytes;
    r.documents += f.documents;
    r.subsets.push_back(std::move(f));
  }
  for (auto& o : r.overall) {
    o.pooled_bpc = r.characters ? 8.0 * o.compressed_bytes / r.characters : 0;
    o.pooled_bpb = r.bytes ? 8.0 * o.compressed_bytes / r.bytes : 0;
  }
  r.documents += r.empty_documents;
  impl_->subsets.clear();
  return r;
}

BaselineReport compute_baselines(text::CorpusReader& reader, std::vector<ClassicCodec> codecs, int threads) {
  Baselines b(std::move(codecs), threads);
  Progress progress("compressing", reader.input_bytes_total(), "B");
  text::Document doc;
  while (reader.next(doc)) {
    b.add(doc.subset, doc.content);
    progress.set(reader.input_bytes_read());
  }
  progress.finish();
  return b.finish();
}

nlohmann::json to_json(const BaselineReport& r) {
  auto codec_json = [](const CodecFigures& c) {
    return nlohmann::json{{"command", codec_name(c.codec)}, {"compressed_bytes", c.compressed_bytes},
                          {"bpc", c.bpc}, {"bpb", c.bpb}};
  };
  nlohmann::json subsets = nlohmann::json::array();
  for (auto& s : r.subsets) {
    nlohmann::json codecs = nlohmann::json::object();
    for (auto& c : s.codecs) codecs[codec_id(c.codec)] = codec_json(c);
    subsets.push_back({{"subset", s.subset}, {"documents", s.documents}, {"characters", s.characters},
                       {"bytes", s.bytes}, {"codecs", codecs}});
  }
  nlohmann::json overall = nlohmann::json::object();
  for (auto& o : r.overall)
    overall[codec_id(o.codec)] = {{"command", codec_name(o.codec)}, {"compressed_bytes", o.compressed_bytes},
                                  {"mean_bpc", o.mean_bpc}, {"mean_bpb", o.mean_bpb},
                                  {"pooled_bpc", o.pooled_bpc}, {"pooled_bpb", o.pooled_bpb}};
  return {{"stream", "per subset: the contents of its non-empty documents concatenated in corpus order, "
                     "no separator; one compressed file each, headers included"},
          {"documents", r.documents}, {"empty_documents", r.empty_documents}, {"characters", r.characters},
          {"bytes", r.bytes}, {"subsets", subsets}, {"overall", overall}};
}

}  // namespace ziq::codec
