// Classic compressors as a yardstick for model BPC: gzip -9, xz -9e and zstd -19, run through
// their libraries (zlib, liblzma, libzstd) in a stream, counting the compressed bytes.
//
// What is compressed, exactly: for each subset, the contents of its documents concatenated in
// corpus order with no separator (the paper's stream; empty documents add nothing). Each subset is
// one compressed file, and its size counts everything that file would hold, headers and trailers
// included, as the command-line tools write it:
//   gzip -9   zlib deflate, level 9, window 2^15, memLevel 8, gzip wrapper with the header of
//             `gzip -n` (no name, mtime 0, XFL 2, OS 3): 10 + deflate + 8 bytes;
//   xz -9e    liblzma preset 9 | LZMA_PRESET_EXTREME, CRC64 check, one stream as `xz -9e -T1`;
//   zstd -19  libzstd level 19 with a content checksum (the CLI's default), size unknown in
//             advance, as `zstd -19 < file` writes.
// BPC = 8 * bytes / characters (code points) and BPB = 8 * bytes / UTF-8 bytes, per subset. Over
// the corpus: "mean" is the average of the subsets' figures (the paper averages per dataset) and
// "pooled" is all compressed bits over all characters (bytes).
//
// Memory: each subset keeps its own three compressors alive until the end (zstd -19 ~ 100 MB and
// xz -9e up to ~700 MB of address space each, touched in proportion to the input), so a corpus
// with very many subsets costs memory in proportion.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ziq::text {
class CorpusReader;
}

namespace ziq::codec {

enum class ClassicCodec { gzip9, xz9e, zstd19 };
const char* codec_name(ClassicCodec c);  // "gzip -9", "xz -9e", "zstd -19"
const std::vector<ClassicCodec>& all_classic_codecs();

// One compressed stream. The output goes to `sink` when one is given (tests decompress it), and
// is always counted.
class ClassicCompressor {
 public:
  using Sink = std::function<void(std::string_view)>;
  static std::unique_ptr<ClassicCompressor> create(ClassicCodec codec, Sink sink = {});
  virtual ~ClassicCompressor() = default;
  virtual void write(std::string_view data) = 0;
  virtual void finish() = 0;  // ends the stream (trailer, checksum); write() is not allowed after
  uint64_t compressed_bytes() const { return out_bytes_; }

 protected:
  void emit(const char* data, size_t n);
  Sink sink_;
  uint64_t out_bytes_ = 0;
};

struct CodecFigures {
  ClassicCodec codec;
  uint64_t compressed_bytes = 0;
  double bpc = 0, bpb = 0;
};

struct SubsetBaseline {
  std::string subset;
  uint64_t documents = 0;   // non-empty documents in the stream
  uint64_t characters = 0;  // code points of the stream
  uint64_t bytes = 0;       // UTF-8 bytes of the stream
  std::vector<CodecFigures> codecs;
};

struct OverallBaseline {
  ClassicCodec codec;
  uint64_t compressed_bytes = 0;  // sum over subsets
  double mean_bpc = 0, mean_bpb = 0;      // average of the subsets' figures (the paper's way)
  double pooled_bpc = 0, pooled_bpb = 0;  // all bits / all characters (bytes)
};

struct BaselineReport {
  std::vector<SubsetBaseline> subsets;  // in order of first appearance
  std::vector<OverallBaseline> overall;
  uint64_t characters = 0, bytes = 0, documents = 0, empty_documents = 0;
};

// Feed documents in corpus order (any interleaving of subsets), then finish(). Text is compressed
// in batches with the codecs running in parallel on up to `threads` threads (0 = all cores).
class Baselines {
 public:
  explicit Baselines(std::vector<ClassicCodec> codecs = all_classic_codecs(), int threads = 0);
  ~Baselines();
  void add(const std::string& subset, std::string_view content);
  BaselineReport finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads the whole corpus (with a progress bar on a terminal) and compresses it.
BaselineReport compute_baselines(text::CorpusReader& reader,
                                 std::vector<ClassicCodec> codecs = all_classic_codecs(), int threads = 0);

nlohmann::json to_json(const BaselineReport& report);

}  // namespace ziq::codec
