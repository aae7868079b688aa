// Reading files that may be gzip, zstd or xz compressed. The format is recognised from the first
// bytes (magic numbers), never from the file name, and data is decompressed in a stream: a file of
// tens of GB passes through a fixed-size buffer. Concatenated streams (multi-member gzip, several
// zstd frames, several xz streams) are read to the end, as the command-line tools do.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace ziq::text {

enum class Compression { none, gzip, zstd, xz };

// From the first bytes of a file (at least 6 for a sure answer).
Compression detect_compression(std::string_view head);
const char* compression_name(Compression c);

// A stream of decompressed bytes from a file, or from standard input for "-".
class ByteSource {
 public:
  // Throws input_error naming the file if it cannot be opened.
  static std::unique_ptr<ByteSource> open(const std::string& path);
  virtual ~ByteSource() = default;

  // Reads up to n decompressed bytes into buf; returns 0 only at the end. Corrupt or truncated
  // compressed data throws input_error naming the file.
  virtual size_t read(char* buf, size_t n) = 0;

  Compression compression() const { return compression_; }
  const std::string& path() const { return path_; }
  uint64_t raw_bytes_read() const { return raw_read_; }  // bytes taken from the file so far
  uint64_t raw_size() const { return raw_size_; }        // the file's size; 0 for pipes/stdin

 protected:
  std::string path_;
  Compression compression_ = Compression::none;
  uint64_t raw_read_ = 0, raw_size_ = 0;
};

// The whole decompressed content of a (small) file, e.g. "tokenizer.json.xz". Throws input_error.
std::string read_decompressed_file(const std::string& path);

}  // namespace ziq::text
