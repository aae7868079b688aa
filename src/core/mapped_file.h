// A read-only memory map of a whole file (checkpoints, tokenizer files). Large files are never
// copied into memory; the OS pages them in on demand.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ziq {

class MappedFile {
 public:
  MappedFile() = default;
  explicit MappedFile(const std::string& path);  // throws input_error naming the file
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::string_view view() const { return {reinterpret_cast<const char*>(data_), size_}; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Reads a whole (small) file into a string; throws input_error naming the file.
std::string read_file(const std::string& path);

}  // namespace ziq
