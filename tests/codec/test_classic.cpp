// Classic baselines: each compressor's output is a valid file of its format that decompresses to
// the input, with the container the command-line tool writes; chunked writes give the same bytes
// as one write (so batching never changes a figure); per-subset streams and the figures over them.
// Sizes against the command-line tools are checked in tests/python/test_baseline.py.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "codec/classic.h"
#include "text/corpus.h"
#include "text/decompress.h"

using namespace ziq::codec;
namespace fs = std::filesystem;

namespace {

std::string sample_text(size_t n) {
  std::mt19937 rng(42);
  const char* words[] = {"the ", "compression ", "of ", "text ", "é ", "日本 ", "\n", "model ", "𝄞 "};
  std::string s;
  while (s.size() < n) s += words[rng() % 9];
  return s;
}

std::string compress(ClassicCodec c, const std::string& data, size_t chunk) {
  std::string out;
  auto comp = ClassicCompressor::create(c, [&](std::string_view b) { out.append(b); });
  for (size_t i = 0; i < data.size(); i += chunk) {
    comp->write(std::string_view(data).substr(i, chunk));
    comp->write("");  // empty writes change nothing
  }
  comp->finish();
  EXPECT_EQ(comp->compressed_bytes(), out.size());
  return out;
}

std::string decompress(const std::string& bytes) {
  fs::path p = fs::path(testing::TempDir()) / "ziq_classic_roundtrip";
  std::ofstream(p, std::ios::binary) << bytes;
  return ziq::text::read_decompressed_file(p.string());
}

}  // namespace

TEST(Classic, RoundTripAndChunkingDoesNotChangeOutput) {
  std::string data = sample_text(300000);
  for (auto c : all_classic_codecs()) {
    SCOPED_TRACE(codec_name(c));
    std::string whole = compress(c, data, data.size());
    EXPECT_LT(whole.size(), data.size() / 2);
    EXPECT_EQ(decompress(whole), data);
    EXPECT_EQ(compress(c, data, 777), whole);
    EXPECT_EQ(compress(c, data, 65536), whole);
  }
}

TEST(Classic, ContainersAreThoseOfTheTools) {
  std::string data = sample_text(5000);
  // gzip -9 -n: magic, deflate, no flags, mtime 0, XFL 2 (best compression), OS 3 (Unix).
  std::string gz = compress(ClassicCodec::gzip9, data, data.size());
  EXPECT_EQ(gz.substr(0, 10), std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03", 10));
  // xz: stream header magic, then stream flags 00 04 (check type 4 = CRC64); footer ends "YZ".
  std::string xz = compress(ClassicCodec::xz9e, data, data.size());
  EXPECT_EQ(xz.substr(0, 8), std::string("\xfd" "7zXZ\x00\x00\x04", 8));
  EXPECT_EQ(xz.substr(xz.size() - 2), "YZ");
  // zstd: frame magic; the frame header descriptor has the content-checksum bit (bit 2) set.
  std::string zs = compress(ClassicCodec::zstd19, data, data.size());
  EXPECT_EQ(zs.substr(0, 4), std::string("\x28\xb5\x2f\xfd", 4));
  EXPECT_TRUE(static_cast<unsigned char>(zs[4]) & 0x04);
}

TEST(Classic, EmptyStreamStillHasItsContainer) {
  // What `gzip -9 -n < /dev/null | wc -c` etc. print: 20, 32, 13 bytes.
  EXPECT_EQ(compress(ClassicCodec::gzip9, "", 1).size(), 20u);
  EXPECT_EQ(compress(ClassicCodec::xz9e, "", 1).size(), 32u);
  EXPECT_EQ(compress(ClassicCodec::zstd19, "", 1).size(), 13u);
}

TEST(Classic, BaselinesPerSubsetInCorpusOrder) {
  Baselines b({ClassicCodec::gzip9, ClassicCodec::zstd19}, 2);
  std::string a_stream, b_stream;
  for (int i = 0; i < 40; ++i) {
    std::string text = i % 5 == 0 ? "" : "doc " + std::to_string(i) + " é€ " + sample_text(100 + i * 37);
    std::string subset = i % 2 ? "b" : "a";
    b.add(subset, text);
    (i % 2 ? b_stream : a_stream) += text;
  }
  BaselineReport r = b.finish();
  // Document 0 (subset "a") is empty, adds nothing: "b" is the first subset with text.
  ASSERT_EQ(r.subsets.size(), 2u);
  EXPECT_EQ(r.subsets[0].subset, "b");
  EXPECT_EQ(r.documents, 40u);
  EXPECT_EQ(r.empty_documents, 8u);
  EXPECT_EQ(r.subsets[1].bytes, a_stream.size());
  EXPECT_EQ(r.subsets[0].characters, ziq::text::count_code_points(b_stream));
  double mean = 0;
  for (int s = 0; s < 2; ++s) {
    const std::string& stream = s ? a_stream : b_stream;
    const auto& f = r.subsets[s];
    ASSERT_EQ(f.codecs.size(), 2u);
    // The same bytes as compressing the concatenated stream in one go.
    EXPECT_EQ(f.codecs[1].compressed_bytes, compress(ClassicCodec::zstd19, stream, stream.size()).size());
    EXPECT_EQ(f.codecs[0].compressed_bytes, compress(ClassicCodec::gzip9, stream, stream.size()).size());
    EXPECT_DOUBLE_EQ(f.codecs[0].bpc, 8.0 * f.codecs[0].compressed_bytes / f.characters);
    EXPECT_DOUBLE_EQ(f.codecs[0].bpb, 8.0 * f.codecs[0].compressed_bytes / f.bytes);
    mean += f.codecs[0].bpc / 2;
  }
  EXPECT_DOUBLE_EQ(r.overall[0].mean_bpc, mean);
  EXPECT_DOUBLE_EQ(r.overall[0].pooled_bpc,
                   8.0 * (r.subsets[0].codecs[0].compressed_bytes + r.subsets[1].codecs[0].compressed_bytes) /
                       (r.subsets[0].characters + r.subsets[1].characters));
}
