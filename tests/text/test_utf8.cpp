// UTF-8 validation, repair and counting. The expected values were produced by Python 3.11:
// bytes.decode("utf-8") for validity (UnicodeDecodeError.start for the offset) and
// bytes.decode("utf-8", errors="replace") for the repair; tests/python/test_corpus_stats.py checks
// the same on random bytes through the command line.
#include <gtest/gtest.h>

#include <string>

#include "text/corpus.h"
#include "text/stats.h"
#include "text/utf8.h"

using namespace std::string_literals;
using namespace ziq::text;

namespace {
constexpr size_t npos = std::string_view::npos;

struct Case {
  std::string in;
  std::string replaced;
  size_t first_invalid;
  uint64_t replacements;
};

const Case kCases[] = {
    {std::string(), "", npos, 0},
    {"\x61\x62\x63"s, "\x61\x62\x63", npos, 0},
    {"\xc3\xa9"s, "\xc3\xa9", npos, 0},
    {"\xc3"s, "\xef\xbf\xbd", 0, 1},
    {"\xc3\x28"s, "\xef\xbf\xbd\x28", 0, 1},
    {"\x80"s, "\xef\xbf\xbd", 0, 1},
    {"\xbf\xbf"s, "\xef\xbf\xbd\xef\xbf\xbd", 0, 2},
    {"\xc0\xaf"s, "\xef\xbf\xbd\xef\xbf\xbd", 0, 2},
    {"\xc1\xbf"s, "\xef\xbf\xbd\xef\xbf\xbd", 0, 2},
    {"\xe0\x80\x80"s, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 0, 3},
    {"\xe0\xa0\x80"s, "\xe0\xa0\x80", npos, 0},
    {"\xe0\xa0"s, "\xef\xbf\xbd", 0, 1},
    {"\xe2\x82"s, "\xef\xbf\xbd", 0, 1},
    {"\xe2\x82\x28"s, "\xef\xbf\xbd\x28", 0, 1},
    {"\xed\xa0\x80"s, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 0, 3},
    {"\xed\x9f\xbf"s, "\xed\x9f\xbf", npos, 0},
    {"\xef\xbf\xbf"s, "\xef\xbf\xbf", npos, 0},
    {"\xf0\x80\x80\x80"s, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 0, 4},
    {"\xf0\x90\x80\x80"s, "\xf0\x90\x80\x80", npos, 0},
    {"\xf0\x90\x80"s, "\xef\xbf\xbd", 0, 1},
    {"\xf4\x8f\xbf\xbf"s, "\xf4\x8f\xbf\xbf", npos, 0},
    {"\xf4\x90\x80\x80"s, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 0, 4},
    {"\xf5\x80\x80\x80"s, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 0, 4},
    {"\xff"s, "\xef\xbf\xbd", 0, 1},
    {"\x61\xf0\x9f\x98\x62\xe2\x82\xac\x63"s, "\x61\xef\xbf\xbd\x62\xe2\x82\xac\x63", 1, 1},
    {"\xf1\x80\x80\xe1\x80\xc2"s, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 0, 3},
    {"\x30\x31\x32\x33\x34\x35\x36\x37\x38\x39\xe9\x61\x62\x63\x64\x65\x66"s,
     "\x30\x31\x32\x33\x34\x35\x36\x37\x38\x39\xef\xbf\xbd\x61\x62\x63\x64\x65\x66", 10, 1},
};
}  // namespace

TEST(Utf8, ValidationAndReplacementMatchPython) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(testing::PrintToString(c.in));
    EXPECT_EQ(find_invalid_utf8(c.in), c.first_invalid);
    uint64_t n = 99;
    EXPECT_EQ(replace_invalid_utf8(c.in, &n), c.replaced);
    EXPECT_EQ(n, c.replacements);
    // The repaired text is valid, and valid text is left as it is.
    EXPECT_EQ(find_invalid_utf8(c.replaced), npos);
    EXPECT_EQ(replace_invalid_utf8(c.replaced), c.replaced);
  }
}

TEST(Utf8, InvalidByteAfterLongAsciiRun) {
  std::string s(1000, 'x');
  s += "\xc3\xa9";
  s += std::string(37, 'y');
  EXPECT_EQ(find_invalid_utf8(s), npos);
  s += '\xfe';
  EXPECT_EQ(find_invalid_utf8(s), 1039u);
}

TEST(Utf8, CodePointsAreWhatPythonLenCounts) {
  // len("") == 0, len("abc") == 3, len("é€𝄞") == 3, len("日本語\n") == 4
  EXPECT_EQ(count_code_points(""), 0u);
  EXPECT_EQ(count_code_points("abc"), 3u);
  EXPECT_EQ(count_code_points("\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e"), 3u);
  EXPECT_EQ(count_code_points("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\n"), 4u);
  // U+FEFF (BOM) and U+0000 are code points like any other.
  EXPECT_EQ(count_code_points("\xef\xbb\xbf"s + '\0' + "a"), 3u);
}

TEST(Utf8, LinesAndLineOfOffset) {
  EXPECT_EQ(count_lines(""), 0u);
  EXPECT_EQ(count_lines("a"), 1u);
  EXPECT_EQ(count_lines("a\n"), 1u);
  EXPECT_EQ(count_lines("a\n\nb"), 3u);
  EXPECT_EQ(count_lines("\n"), 1u);
  EXPECT_EQ(line_of_offset("ab\ncd\nef", 0), 1u);
  EXPECT_EQ(line_of_offset("ab\ncd\nef", 3), 2u);
  EXPECT_EQ(line_of_offset("ab\ncd\nef", 7), 3u);
}
