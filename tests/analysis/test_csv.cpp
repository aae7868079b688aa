#include "analysis/csv.h"

#include <gtest/gtest.h>

#include "core/error.h"

using namespace ziq::analysis;

namespace {
std::string error_of(const std::string& text) {
  try {
    parse_csv(text, "t.csv");
  } catch (const ziq::Error& e) {
    EXPECT_EQ(e.exit_code(), ziq::kExitInput);
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Csv, Rfc4180Quoting) {
  auto t = parse_csv("a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n1,,3", "t.csv");
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0][0], "x, y");
  EXPECT_EQ(t.rows[0][1], "say \"hi\"");
  EXPECT_EQ(t.rows[0][2], "two\nlines");
  EXPECT_EQ(t.rows[1][1], "");
  EXPECT_EQ(t.row_lines[0], 2);
  EXPECT_EQ(t.row_lines[1], 4);  // the quoted line break moved the next record to line 4
  EXPECT_EQ(t.where(1), "t.csv:4");
}

TEST(Csv, CommentLinesBomAndBlankLines) {
  auto t = parse_csv("\xEF\xBB\xBF# Columns: a = thing, b = other\nname,v\n\nm1,1\nm2,2\n\n", "t.csv");
  ASSERT_EQ(t.comments.size(), 1u);
  EXPECT_EQ(t.comments[0], " Columns: a = thing, b = other");
  EXPECT_EQ(t.header_line, 2);
  EXPECT_EQ(t.header[0], "name");
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.row_lines[0], 4);
  EXPECT_EQ(t.column("v"), 1);
  EXPECT_EQ(t.column("w"), -1);
  EXPECT_THROW(t.require_column("w"), ziq::Error);
}

TEST(Csv, ErrorsNameFileLineAndColumn) {
  EXPECT_EQ(error_of("a,b\n1,\"2\n"), "t.csv:2:3: quoted field never closed (end of file reached)");
  EXPECT_EQ(error_of("a,b\n1,\"2\"x\n"), "t.csv:2:6: unexpected character after the closing quote of a field");
  EXPECT_EQ(error_of("a,b\n1,2\"\n"), "t.csv:2:4: quote inside an unquoted field (quote the whole field and double the quote)");
  EXPECT_EQ(error_of("a,b,a\n"), "t.csv:1: column 'a' named twice (columns 1 and 3)");
  EXPECT_EQ(error_of("a,,b\n"), "t.csv:1: column 2 has no name");
  std::string rows = error_of("a,b\n1,2\n1\n1,2,3\n");
  EXPECT_NE(rows.find("t.csv:3: 1 fields, the header has 2"), std::string::npos) << rows;
  EXPECT_NE(rows.find("t.csv:4: 3 fields, the header has 2"), std::string::npos) << rows;
  EXPECT_NE(error_of("# only a comment\n").find("no header"), std::string::npos);
}

TEST(Csv, NumbersAreStrict) {
  bool bad = false;
  EXPECT_EQ(parse_number(" 0.635 ", &bad), 0.635);
  EXPECT_FALSE(bad);
  EXPECT_EQ(parse_number("-14.3", &bad), -14.3);
  EXPECT_EQ(parse_number("+2e-3", &bad), 2e-3);
  EXPECT_FALSE(parse_number("", &bad).has_value());
  EXPECT_FALSE(bad);
  for (const char* s : {"n/a", "1,5", "inf", "nan", "0.5%", "1e", "--1", "0x10"}) {
    EXPECT_FALSE(parse_number(s, &bad).has_value()) << s;
    EXPECT_TRUE(bad) << s;
  }
}

TEST(Csv, WritingRoundTrips) {
  std::vector<std::string> fields = {"plain", "with, comma", "with \"quote\"", "two\nlines", ""};
  auto t = parse_csv(csv_line({"a", "b", "c", "d", "e"}) + csv_line(fields), "t.csv");
  EXPECT_EQ(t.rows.at(0), fields);
}
