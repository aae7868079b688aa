// Content hashes of large files (checkpoint weights), cached in the results database by path,
// size, modification and change time and inode, so a checkpoint is read for hashing once, not at
// every `ziq eval`. Any change to the file's stamp (core/content_hash.h) makes it hashed again; a
// file changed in the last 2 s is hashed but not cached (a write in the same clock tick would
// leave its stamp as it was).
//
// Table (created on first use): file_hashes(path PK, size, mtime_ns, ctime_ns, inode, hash)
#pragma once

#include <string>

#include "store/db.h"

namespace ziq::store {

class FileHashCache {
 public:
  explicit FileHashCache(Database& db);
  // The XXH3-128 of the file (32 hex digits), from the cache when its stamp is unchanged.
  std::string hash(const std::string& path);
  // Files hashed (not found in the cache) by this object so far.
  int hashed() const { return hashed_; }

 private:
  Database& db_;
  int hashed_ = 0;
};

}  // namespace ziq::store
