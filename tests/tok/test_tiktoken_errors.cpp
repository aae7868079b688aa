// tiktoken rank files: malformed files stop with an error naming the file and line; the two merge
// implementations agree; byte-pair merging follows the ranks on a toy vocabulary.
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "test_sentencepiece_tiktoken_util.h"
#include "tok/tiktoken_tokenizer.h"

using namespace ziq::tok;
using namespace ziq::tok::testing;

namespace {

std::string b64(const std::string& s) {
  const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < s.size(); i += 3) {
    uint32_t v = uint8_t(s[i]) << 16 | (i + 1 < s.size() ? uint8_t(s[i + 1]) << 8 : 0) |
                 (i + 2 < s.size() ? uint8_t(s[i + 2]) : 0);
    out += a[v >> 18], out += a[(v >> 12) & 63];
    out += i + 1 < s.size() ? a[(v >> 6) & 63] : '=';
    out += i + 2 < s.size() ? a[v & 63] : '=';
  }
  return out;
}

// A toy rank file: every byte (rank = byte value), then the merges given, in rank order.
std::string toy_ranks(const std::vector<std::string>& merges) {
  std::string f;
  for (int b = 0; b < 256; ++b) f += b64(std::string(1, char(b))) + " " + std::to_string(b) + "\n";
  for (size_t i = 0; i < merges.size(); ++i) f += b64(merges[i]) + " " + std::to_string(256 + i) + "\n";
  return f;
}

class TiktokenFiles : public ScratchDirTest {
 protected:
  // The input error loading `content` as file `name` gives (empty if none).
  std::string load_error(const std::string& content, const std::string& name = "cl100k_base.tiktoken") {
    std::string p = write(name, content);
    return input_error_of([&] { TiktokenTokenizer tok(p); }, p);
  }
};

TEST_F(TiktokenFiles, MalformedLinesNameFileAndLine) {
  std::string good = toy_ranks({"ab"});
  EXPECT_EQ(load_error(good), "");
  EXPECT_NE(load_error(good + "YWJj\n").find(":258: expected"), std::string::npos);
  EXPECT_NE(load_error(good + "YWJj 300 7\n").find(":258: expected"), std::string::npos);
  EXPECT_NE(load_error(good + "Y!Jj 300\n").find(":258: the token is not valid base64"), std::string::npos);
  EXPECT_NE(load_error(good + "YWJ 300\n").find(":258: the token is not valid base64"), std::string::npos);
  EXPECT_NE(load_error(good + "YWJj x1\n").find(":258: the rank \"x1\""), std::string::npos);
  EXPECT_NE(load_error(good + "YWJj -3\n").find(":258: the rank"), std::string::npos);
  EXPECT_NE(load_error(good + b64("ab") + " 300\n").find(":258: the token appears twice"), std::string::npos);
  EXPECT_NE(load_error(good + "YWJj 256\n").find("rank 256 is given to two tokens"), std::string::npos);
  EXPECT_NE(load_error(good + "YWJj 100257\n").find("rank 100257 is also"), std::string::npos);
  EXPECT_NE(load_error("").find("no ranks"), std::string::npos);
  EXPECT_NE(load_error(toy_ranks({}).substr(toy_ranks({}).find('\n') + 1)).find("byte 0x00 has no rank"), std::string::npos);
  // r50k_base states its size: a file of another size is the wrong file.
  EXPECT_NE(load_error(good, "r50k_base.tiktoken").find("is it the right file?"), std::string::npos);
  // Blank lines and CRLF line ends are fine, as in tiktoken's loader.
  EXPECT_EQ(load_error("\n" + good + "\r\n\n"), "");
}

TEST_F(TiktokenFiles, FamilyMustBeKnown) {
  EXPECT_NE(load_error(toy_ranks({}), "my_ranks.tiktoken").find("does not say which tiktoken family"),
            std::string::npos);
  std::string p = write("x.tiktoken", toy_ranks({}));
  try {
    TiktokenTokenizer tok(p, "cl200k");
    FAIL();
  } catch (const ziq::Error& e) {
    EXPECT_EQ(e.kind(), ziq::ErrorKind::usage);
  }
  TiktokenTokenizer tok(p, "o200k_base");
  EXPECT_EQ(tok.family(), "o200k_base");
}

TEST_F(TiktokenFiles, MergesFollowRanks) {
  // "bc" outranks "ab", so "abc" -> a + bc; "abcd" -> "a", "bcd"? only if "bcd" is a token.
  TiktokenTokenizer tok(write("cl100k_base.tiktoken", toy_ranks({"bc", "ab", "bcd", "aa", "aaaa"})), "");
  std::vector<TokenId> out;
  tok.encode_piece("abc", out);
  EXPECT_EQ(out, (std::vector<TokenId>{'a', 256}));
  out.clear();
  tok.encode_piece("abcd", out);
  EXPECT_EQ(out, (std::vector<TokenId>{'a', 258}));
  out.clear();
  tok.encode_piece("aaaaa", out);  // leftmost first: aa aa a -> aaaa a
  EXPECT_EQ(out, (std::vector<TokenId>{260, 'a'}));
  out.clear();
  tok.encode_piece("ab", out);  // a whole piece that is a token
  EXPECT_EQ(out, (std::vector<TokenId>{257}));
  EXPECT_EQ(tok.decode({'a', 258, 100257}), "abcd<|endoftext|>");
  EXPECT_EQ(tok.decode({'a', 258, 100257}, true), "abcd");
  EXPECT_THROW(tok.decode({99999}), ziq::Error);
}

TEST(TiktokenMerge, HeapAndScanAgree) {
  auto tok = TiktokenTokenizer(std::string(ZIQ_SHARED_DATA) + "/tokenizers/tiktoken/cl100k_base.tiktoken.xz");
  std::mt19937 rng(7);
  const std::string alphabet = "aabbcdeeiinnorsst  _-=0123456789";
  for (int round = 0; round < 300; ++round) {
    std::string piece;
    size_t len = 1 + rng() % 400;
    for (size_t i = 0; i < len; ++i) piece += alphabet[rng() % alphabet.size()];
    std::vector<TokenId> scan, heap;
    tok.merge(piece, false, scan);
    tok.merge(piece, true, heap);
    ASSERT_EQ(scan, heap) << piece;
    EXPECT_EQ(tok.decode(heap), piece);
  }
}

TEST(TiktokenEncode, RefusesInvalidUtf8) {
  auto tok = TiktokenTokenizer(std::string(ZIQ_SHARED_DATA) + "/tokenizers/tiktoken/r50k_base.tiktoken.xz");
  EXPECT_THROW(tok.encode("ok \xff bad"), ziq::Error);
}

}  // namespace
