// Safetensors checkpoints, memory-mapped: one file (model.safetensors) or shards listed by
// model.safetensors.index.json. Every header field is checked before anything reads tensor data:
// header size inside the file, JSON syntax, known dtype, offsets inside the data area, sorted and
// not overlapping, byte size equal to product(shape) * dtype size. Errors name file and tensor.
// Format: an 8-byte little-endian header length N, N bytes of JSON, then the data area.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/mapped_file.h"

namespace ziq::model {

enum class DType { bf16, f16, f32 };
size_t dtype_size(DType t);
const char* dtype_name(DType t);  // "bf16", "f16", "f32"

struct TensorView {
  std::string name;
  std::string file;  // the file it came from, for error messages
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;  // inside the mapping (or an aligned copy if the file misaligns it)
  size_t nbytes = 0;
  int64_t numel() const;
};

class Checkpoint {
 public:
  // A folder with model.safetensors.index.json (sharded) or model.safetensors.
  static Checkpoint open_folder(const std::string& folder);
  // One .safetensors file.
  static Checkpoint open_file(const std::string& path);

  const TensorView* find(const std::string& name) const;
  // input_error naming the checkpoint and the tensor when absent.
  const TensorView& get(const std::string& name) const;
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  const std::string& where() const { return where_; }  // file or index path, for messages
  // The raw JSON headers of all files, in order (for fingerprints).
  const std::vector<std::string>& headers() const { return headers_; }
  // input_error naming the file, the tensor and the element when a tensor holds NaN or infinity
  // (a linear scan of every weight: run when a loss comes out non-finite, to say why).
  void check_finite() const;
  // The .safetensors files, in the order of headers().
  std::vector<std::string> files() const;

 private:
  void add_file(const std::string& path, const std::vector<std::string>* expected);

  std::string where_;
  std::vector<std::unique_ptr<MappedFile>> files_;
  std::vector<std::unique_ptr<uint8_t[]>> aligned_copies_;
  std::map<std::string, TensorView> tensors_;
  std::vector<std::string> headers_;
};

}  // namespace ziq::model
