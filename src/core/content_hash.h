// Fast content hashes (XXH3, 128 bits, from Debian's libxxhash, used header-only): the weights
// files of a checkpoint and the running ziq executable enter the run key of `ziq eval`, so a
// stored run is never resumed for different weights or by a different build.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ziq {

// What identifies a file's version cheaply, without reading it: a changed file (or a file
// replaced by another one) changes at least one of these.
struct FileStamp {
  int64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  int64_t inode = 0;
};
FileStamp file_stamp(const std::string& path);  // input_error naming the file when it cannot be read

// XXH3-128 of the file's bytes as 32 hex digits (the file is mapped, not copied).
std::string hash_file(const std::string& path);

// XXH3-128 of a string as 32 hex digits.
std::string hash_text(std::string_view text);

// XXH3-128 of this process's executable (/proc/self/exe), computed once: tells apart two builds
// that carry the same version number.
const std::string& executable_hash();

}  // namespace ziq
