#include "core/content_hash.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "core/error.h"
#include "core/mapped_file.h"

namespace ziq {
namespace {

std::string hex(XXH128_hash_t h) { return fmt::format("{:016x}{:016x}", h.high64, h.low64); }

}  // namespace

FileStamp file_stamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) input_error("{}: cannot read: {}", path, std::strerror(errno));
  FileStamp s;
  s.size = static_cast<int64_t>(st.st_size);
  s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  s.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  s.inode = static_cast<int64_t>(st.st_ino);
  return s;
}

std::string hash_file(const std::string& path) {
  MappedFile file(path);
  return hex(XXH3_128bits(file.data(), file.size()));
}

std::string hash_text(std::string_view text) { return hex(XXH3_128bits(text.data(), text.size())); }

const std::string& executable_hash() {
  static const std::string h = [] {
    try {
      return hash_file("/proc/self/exe");
    } catch (const Error& e) {
      internal_error("cannot hash ziq's own executable: {}", e.what());
    }
  }();
  return h;
}

}  // namespace ziq
