#include "store/file_hashes.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "core/content_hash.h"

namespace ziq::store {
namespace {
constexpr int64_t kSettledNs = int64_t{2} * 1000000000;  // 2 s
}  // namespace

FileHashCache::FileHashCache(Database& db) : db_(db) {
  db_.exec(
      "CREATE TABLE IF NOT EXISTS file_hashes("
      " path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,"
      " inode INTEGER NOT NULL, hash TEXT NOT NULL)");
}

std::string FileHashCache::hash(const std::string& path) {
  std::error_code ec;
  std::string key = std::filesystem::weakly_canonical(path, ec).string();
  if (ec || key.empty()) key = path;
  const FileStamp before = file_stamp(path);
  {
    auto q = db_.prepare(
        "SELECT hash FROM file_hashes WHERE path = ? AND size = ? AND mtime_ns = ? AND ctime_ns = ? AND inode = ?");
    q.bind(1, key).bind(2, before.size).bind(3, before.mtime_ns).bind(4, before.ctime_ns).bind(5, before.inode);
    if (q.step()) return q.column_text(0);
  }
  const std::string h = hash_file(path);
  ++hashed_;
  // Not cached: a file written while it was read (its stamp no longer describes the bytes hashed),
  // and a file changed within the last seconds: file times have a coarse resolution (a clock tick,
  // two seconds on some file systems), so a write in the same tick would keep its stamp.
  const FileStamp after = file_stamp(path);
  const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
  const bool settled = now_ns - std::max(before.mtime_ns, before.ctime_ns) > kSettledNs;
  if (settled && after.size == before.size && after.mtime_ns == before.mtime_ns &&
      after.ctime_ns == before.ctime_ns && after.inode == before.inode) {
    auto ins = db_.prepare(
        "INSERT OR REPLACE INTO file_hashes(path, size, mtime_ns, ctime_ns, inode, hash) VALUES(?, ?, ?, ?, ?, ?)");
    ins.bind(1, key).bind(2, before.size).bind(3, before.mtime_ns).bind(4, before.ctime_ns).bind(5, before.inode);
    ins.bind(6, h);
    ins.step();
  }
  return h;
}

}  // namespace ziq::store
