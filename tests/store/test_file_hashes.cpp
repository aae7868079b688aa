// The content-hash cache (store/file_hashes.h): a file is read for hashing once per version; a
// change of content (even at the same size) or of stamp gives its new hash.
#include "store/file_hashes.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <chrono>
#include <fstream>
#include <thread>

#include "core/content_hash.h"
#include "core/error.h"
#include "../temp_dir.h"

namespace fs = std::filesystem;

namespace {

fs::path temp_dir() { return ziq::test::fresh_temp_dir("ziq_file_hashes_"); }

void write(const fs::path& p, const std::string& data) { std::ofstream(p, std::ios::binary) << data; }

TEST(FileHashCache, HashesOncePerVersion) {
  const fs::path dir = temp_dir();
  const fs::path f = dir / "w.safetensors";
  ziq::store::Database db((dir / "r.sqlite").string());
  ziq::store::FileHashCache cache(db);

  // Just written: hashed every time (a write in the same clock tick would keep its stamp).
  write(f, "weights one");
  const std::string h1 = cache.hash(f.string());
  EXPECT_EQ(h1.size(), 32u);
  EXPECT_EQ(h1, ziq::hash_file(f.string()));
  // Same size, other bytes, at once: the new bytes' hash.
  write(f, "weights two");
  const std::string h2 = cache.hash(f.string());
  EXPECT_NE(h2, h1);
  EXPECT_EQ(h2, ziq::hash_file(f.string()));
  EXPECT_EQ(cache.hashed(), 2);

  // Settled: hashed once, then from the cache, also through another connection.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  EXPECT_EQ(cache.hash(f.string()), h2);
  EXPECT_EQ(cache.hash(f.string()), h2);
  EXPECT_EQ(cache.hashed(), 3);
  ziq::store::Database again((dir / "r.sqlite").string());
  ziq::store::FileHashCache cache2(again);
  EXPECT_EQ(cache2.hash(f.string()), h2);
  EXPECT_EQ(cache2.hashed(), 0);

  // Changed again (same size): its stamp changed, so hashed again.
  write(f, "weights one");
  EXPECT_EQ(cache2.hash(f.string()), h1);
  EXPECT_EQ(cache2.hashed(), 1);
}

TEST(FileHashCache, MissingFileNamesIt) {
  const fs::path dir = temp_dir();
  ziq::store::Database db((dir / "r.sqlite").string());
  ziq::store::FileHashCache cache(db);
  try {
    cache.hash((dir / "nope.safetensors").string());
    FAIL() << "no error";
  } catch (const ziq::Error& e) {
    EXPECT_EQ(e.kind(), ziq::ErrorKind::input);
    EXPECT_NE(std::string(e.what()).find("nope.safetensors"), std::string::npos) << e.what();
  }
}

TEST(ContentHash, ExecutableHashIsStable) {
  const std::string& h = ziq::executable_hash();
  EXPECT_EQ(h.size(), 32u);
  EXPECT_EQ(&h, &ziq::executable_hash());
  EXPECT_NE(ziq::hash_text("a"), ziq::hash_text("b"));
}

}  // namespace
