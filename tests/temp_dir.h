// A fresh, empty folder per test: testing::TempDir()/<prefix><test name>.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace ziq::test {

inline std::filesystem::path fresh_temp_dir(const std::string& prefix) {
  namespace fs = std::filesystem;
  fs::path d = fs::path(testing::TempDir()) / (prefix + testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

}  // namespace ziq::test
