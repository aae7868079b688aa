// CorpusReader and the decompressing reader: formats detected by content, documents and subsets,
// and every error path naming the file and the line.
#include <gtest/gtest.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "text/corpus.h"
#include "text/decompress.h"

using namespace std::string_literals;
using namespace ziq::text;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir() {
  fs::path d = fs::path(testing::TempDir()) / ("ziq_corpus_" + std::string(testing::UnitTest::GetInstance()->current_test_info()->name()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void write(const fs::path& p, const std::string& data) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << data;
}

std::string gzip_bytes(const std::string& s) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, s.size()) + 32, '\0');
  z.next_in = (Bytef*)s.data();
  z.avail_in = s.size();
  z.next_out = (Bytef*)out.data();
  z.avail_out = out.size();
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string zstd_bytes(const std::string& s) {
  std::string out(ZSTD_compressBound(s.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), s.data(), s.size(), 3));
  return out;
}

std::string xz_bytes(const std::string& s) {
  std::string out(lzma_stream_buffer_bound(s.size()), '\0');
  size_t pos = 0;
  EXPECT_EQ(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, nullptr, (const uint8_t*)s.data(), s.size(),
                                    (uint8_t*)out.data(), &pos, out.size()),
            LZMA_OK);
  out.resize(pos);
  return out;
}

std::vector<Document> read_all(std::vector<std::string> paths, CorpusOptions opt = {}) {
  CorpusReader r(std::move(paths), opt);
  std::vector<Document> docs;
  Document d;
  while (r.next(d)) docs.push_back(d);
  return docs;
}

// The message of the input error thrown by reading `paths` ("" if none is thrown).
std::string input_error_of(std::vector<std::string> paths, CorpusOptions opt = {}) {
  try {
    read_all(std::move(paths), opt);
  } catch (const ziq::Error& e) {
    EXPECT_EQ(e.kind(), ziq::ErrorKind::input);
    return e.what();
  }
  return "";
}

// A payload large enough to cross the 256 KiB read buffer and the 1 MiB line buffer.
std::string big_jsonl() {
  std::string s;
  for (int i = 0; i < 3000; ++i)
    s += R"({"content": "document )" + std::to_string(i) + std::string(i % 700, 'x') + R"( \u00e9", "subset": ")" +
         (i % 3 ? "a" : "b") + "\"}\n";
  return s;
}

}  // namespace

TEST(Decompress, DetectsByMagicBytes) {
  EXPECT_EQ(detect_compression("\x1f\x8b\x08"), Compression::gzip);
  EXPECT_EQ(detect_compression("\x28\xb5\x2f\xfd\x00"), Compression::zstd);
  EXPECT_EQ(detect_compression("\xfd" "7zXZ"s + '\0'), Compression::xz);
  EXPECT_EQ(detect_compression("\xfd" "7zXZ"), Compression::none);  // too short to be sure
  EXPECT_EQ(detect_compression("{\"content\""), Compression::none);
  EXPECT_EQ(detect_compression(""), Compression::none);
  EXPECT_EQ(detect_compression(gzip_bytes("x")), Compression::gzip);
  EXPECT_EQ(detect_compression(zstd_bytes("x")), Compression::zstd);
  EXPECT_EQ(detect_compression(xz_bytes("x")), Compression::xz);
}

TEST(Decompress, RoundTripsWhateverTheName) {
  auto dir = temp_dir();
  std::string data = big_jsonl();
  // Names deliberately wrong: detection is by content.
  write(dir / "a.txt", gzip_bytes(data));
  write(dir / "b.gz", zstd_bytes(data));
  write(dir / "c.zst", xz_bytes(data));
  write(dir / "d.xz", data);
  // Concatenated streams, as `cat a.gz b.gz` or several zstd frames or xz streams make.
  write(dir / "e", gzip_bytes(data.substr(0, 1000)) + gzip_bytes(data.substr(1000)));
  write(dir / "f", zstd_bytes(data.substr(0, 1000)) + zstd_bytes(data.substr(1000)));
  write(dir / "g", xz_bytes(data.substr(0, 1000)) + xz_bytes(data.substr(1000)));
  for (auto name : {"a.txt", "b.gz", "c.zst", "d.xz", "e", "f", "g"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(read_decompressed_file((dir / name).string()), data);
  }
  EXPECT_EQ(ByteSource::open((dir / "c.zst").string())->compression(), Compression::xz);
}

TEST(Decompress, TruncatedAndCorruptDataNameTheFile) {
  auto dir = temp_dir();
  std::string data = big_jsonl();
  auto expect_error = [&](const std::string& name, const std::string& bytes, const char* what) {
    write(dir / name, bytes);
    std::string path = (dir / name).string();
    try {
      read_decompressed_file(path);
      ADD_FAILURE() << name << ": no error";
    } catch (const ziq::Error& e) {
      EXPECT_EQ(e.kind(), ziq::ErrorKind::input);
      EXPECT_NE(std::string(e.what()).find(path + ": " + what), std::string::npos) << e.what();
    }
  };
  expect_error("t.gz", gzip_bytes(data).substr(0, 5000), "truncated gzip");
  expect_error("t.zst", zstd_bytes(data).substr(0, 5000), "truncated zstd");
  expect_error("t.xz", xz_bytes(data).substr(0, 5000), "truncated xz");
  std::string bad = gzip_bytes(data);
  bad[bad.size() / 2] ^= 0x55;
  bad[bad.size() / 2 + 1] ^= 0x55;
  expect_error("c.gz", bad, "corrupt gzip");
  try {
    read_decompressed_file((dir / "missing").string());
    ADD_FAILURE();
  } catch (const ziq::Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing: cannot open"), std::string::npos);
  }
}

TEST(Corpus, JsonlDocumentsSubsetsAndMeta) {
  auto dir = temp_dir();
  write(dir / "x.jsonl.zst", zstd_bytes(
      "{\"content\": \"a\\u00e9\", \"subset\": \"s\", \"meta\": {\"source\": \"u\", \"n\": 1}}\n"
      "\n  \r\n"
      "{\"content\": \"\", \"subset\": null}\n"
      "{\"content\": \"z\"}"));
  auto docs = read_all({(dir / "x.jsonl.zst").string()});
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[0].content, "a\xc3\xa9");
  EXPECT_EQ(docs[0].subset, "s");
  EXPECT_EQ(docs[0].meta_json, R"({"n":1,"source":"u"})");
  EXPECT_EQ(docs[0].line, 1u);
  EXPECT_EQ(docs[1].content, "");
  EXPECT_EQ(docs[1].subset, "x");  // the stem of x.jsonl.zst
  EXPECT_EQ(docs[1].line, 4u);     // blank lines still count as lines
  EXPECT_EQ(docs[2].line, 5u);
  EXPECT_EQ(docs[2].meta_json, "");
}

TEST(Corpus, LargeJsonlStreamsThroughBuffers) {
  auto dir = temp_dir();
  std::string data = big_jsonl();
  write(dir / "big.jsonl.gz", gzip_bytes(data));
  CorpusReader r({(dir / "big.jsonl.gz").string()});
  Document d;
  uint64_t n = 0, chars = 0;
  while (r.next(d)) {
    ++n;
    chars += count_code_points(d.content);
    EXPECT_EQ(d.subset, (n - 1) % 3 ? "a" : "b");
  }
  EXPECT_EQ(n, 3000u);
  EXPECT_EQ(r.counters().documents, 3000u);
  EXPECT_EQ(r.input_bytes_read(), r.input_bytes_total());
  // FNV-1a 64 of the decompressed bytes.
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : data) h = (h ^ c) * 0x100000001b3ull;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", (unsigned long long)h);
  EXPECT_EQ(r.fingerprint_hex(), hex);
}

TEST(Corpus, DirectoriesSortedWithFolderSubsets) {
  auto dir = temp_dir();
  write(dir / "root" / "z.txt", "top");
  write(dir / "root" / "b" / "2.txt", "b2");
  write(dir / "root" / "b" / "1.txt.gz", gzip_bytes("b1"));
  write(dir / "root" / "a" / "deep" / "x", "ax");
  auto docs = read_all({(dir / "root").string()});
  ASSERT_EQ(docs.size(), 4u);
  EXPECT_EQ(docs[0].content, "ax");
  EXPECT_EQ(docs[0].subset, "a");
  EXPECT_EQ(docs[1].content, "b1");
  EXPECT_EQ(docs[2].content, "b2");
  EXPECT_EQ(docs[2].subset, "b");
  EXPECT_EQ(docs[3].content, "top");
  EXPECT_EQ(docs[3].subset, "root");
  EXPECT_EQ(docs[3].line, 0u);
  CorpusOptions opt;
  opt.default_subset = "all";
  for (auto& d : read_all({(dir / "root").string()}, opt)) EXPECT_EQ(d.subset, "all");
}

TEST(Corpus, BadJsonLinesNameFileAndLine) {
  auto dir = temp_dir();
  const std::string good = "{\"content\": \"ok\"}\n";
  const std::pair<const char*, const char*> cases[] = {
      {"{\"content\": \"x}", "malformed JSON"},
      {"[1, 2]", "expected a JSON object"},
      {"{\"text\": \"x\"}", "missing \"content\""},
      {"{\"content\": null}", "\"content\" is not a string"},
      {"{\"content\": \"x\", \"subset\": 1}", "\"subset\" is not a string"},
      {"{\"content\": \"\\ud800\"}", "malformed JSON"},  // lone surrogate escape
  };
  int i = 0;
  for (auto [line, why] : cases) {
    std::string path = (dir / ("bad" + std::to_string(i++) + ".jsonl.gz")).string();
    write(path, gzip_bytes(good + "\n" + good + line + "\n" + good));
    EXPECT_NE(input_error_of({path}).find(path + ":4: " + why), std::string::npos) << input_error_of({path});
    CorpusOptions skip;
    skip.skip_bad_lines = true;
    CorpusReader r({path}, skip);
    Document d;
    int n = 0;
    while (r.next(d)) ++n;
    EXPECT_EQ(n, 3);
    EXPECT_EQ(r.counters().skipped_bad_lines, 1u);
  }
}

TEST(Corpus, BadUtf8PoliciesNameFileAndLine) {
  auto dir = temp_dir();
  std::string jl = (dir / "u.jsonl").string(), tx = (dir / "u.txt").string();
  write(jl, "{\"content\": \"ok\"}\n{\"content\": \"caf\xe9\"}\n");
  write(tx, "one\ntwo\nthr\xed\xa0\x80" "ee\n");
  EXPECT_NE(input_error_of({jl}).find(jl + ":2: invalid UTF-8 at byte 17 of the line"), std::string::npos);
  EXPECT_NE(input_error_of({tx}).find(tx + ":3: invalid UTF-8"), std::string::npos);

  CorpusOptions skip;
  skip.bad_utf8 = BadInputPolicy::skip;
  CorpusReader rs({jl, tx}, skip);
  Document d;
  int n = 0;
  while (rs.next(d)) ++n;
  EXPECT_EQ(n, 1);
  EXPECT_EQ(rs.counters().skipped_bad_utf8, 2u);

  CorpusOptions rep;
  rep.bad_utf8 = BadInputPolicy::replace;
  auto docs = read_all({jl, tx}, rep);
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[1].content, "caf\xef\xbf\xbd");                                    // b"caf\xe9".decode(errors="replace")
  EXPECT_EQ(docs[2].content, "one\ntwo\nthr\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "ee\n");  // surrogate: 3 x U+FFFD
  CorpusReader rr({jl, tx}, rep);
  while (rr.next(d)) {
  }
  EXPECT_EQ(rr.counters().replaced_bad_utf8, 2u);
}

TEST(Corpus, MissingPathAndBadFormat) {
  EXPECT_NE(input_error_of({"/nonexistent/corpus.jsonl"}).find("/nonexistent/corpus.jsonl: no such file"),
            std::string::npos);
  CorpusOptions bad;
  bad.format = "csv";
  EXPECT_THROW(CorpusReader({"x"}, bad), ziq::Error);
}

TEST(Corpus, FormatOverride) {
  auto dir = temp_dir();
  std::string p = (dir / "lines.txt").string();
  write(p, "{\"content\": \"a\"}\n{\"content\": \"b\"}\n");
  EXPECT_EQ(read_all({p}).size(), 1u);  // .txt: one plain-text document
  CorpusOptions o;
  o.format = "jsonl";
  EXPECT_EQ(read_all({p}, o).size(), 2u);
  std::string j = (dir / "sniff.json").string();
  write(j, "  \n{\"content\": \"a\"}\n");
  EXPECT_EQ(read_all({j})[0].content, "a");  // .json sniffed as JSON lines
}
