#include "model/safetensors.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_depth.h"

namespace ziq::model {

using nlohmann::json;
namespace fs = std::filesystem;

size_t dtype_size(DType t) {
  switch (t) {
    case DType::bf16: return 2;
    case DType::f16: return 2;
    case DType::f32: return 4;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::bf16: return "bf16";
    case DType::f16: return "f16";
    case DType::f32: return "f32";
  }
  return "?";
}

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

namespace {

DType parse_dtype(const std::string& file, const std::string& tensor, const json& v) {
  if (!v.is_string()) input_error("{}: tensor '{}': dtype is not a string", file, tensor);
  const std::string s = v.get<std::string>();
  if (s == "BF16") return DType::bf16;
  if (s == "F16") return DType::f16;
  if (s == "F32") return DType::f32;
  input_error("{}: tensor '{}': dtype {} is not supported (ziq reads BF16, F16 and F32)", file, tensor,
              s);
}

std::vector<uint64_t> parse_uints(const std::string& file, const std::string& tensor, const json& obj,
                                  const char* field) {
  auto it = obj.find(field);
  if (it == obj.end()) input_error("{}: tensor '{}': missing field '{}'", file, tensor, field);
  if (!it->is_array()) input_error("{}: tensor '{}': '{}' is not an array", file, tensor, field);
  std::vector<uint64_t> out;
  for (const auto& x : *it) {
    if (!x.is_number_unsigned() && !(x.is_number_integer() && x.get<int64_t>() >= 0))
      input_error("{}: tensor '{}': '{}' holds {}, not a non-negative integer", file, tensor, field,
                  x.dump());
    out.push_back(x.get<uint64_t>());
  }
  return out;
}

}  // namespace

void Checkpoint::add_file(const std::string& path, const std::vector<std::string>* expected) {
  auto file = std::make_unique<MappedFile>(path);
  const size_t size = file->size();
  if (size < 8) input_error("{}: truncated: {} bytes, too short for the 8-byte header length", path, size);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | file->data()[i];
  // The format caps the header at 100 MB; a larger claim is damage, not a header to copy.
  if (header_len > (uint64_t{100} << 20))
    input_error("{}: header length {} exceeds the format's 100 MB limit; not a safetensors file?", path, header_len);
  if (header_len > size - 8)
    input_error("{}: header length {} runs past the end of the file ({} bytes); truncated?", path,
                header_len, size);
  std::string header(reinterpret_cast<const char*>(file->data()) + 8, header_len);
  check_json_depth(header, path + ": header");
  json root;
  try {
    root = json::parse(header);
  } catch (const json::parse_error& e) {
    input_error("{}: header is not valid JSON (byte {}): {}", path, e.byte, e.what());
  }
  if (!root.is_object()) input_error("{}: header is not a JSON object", path);

  const uint8_t* data_area = file->data() + 8 + header_len;
  const uint64_t data_size = size - 8 - header_len;
  struct Span {
    uint64_t begin, end;
    std::string name;
  };
  std::vector<Span> spans;
  for (auto& [name, entry] : root.items()) {
    if (name == "__metadata__") continue;
    if (!entry.is_object()) input_error("{}: tensor '{}': entry is not an object", path, name);
    TensorView t;
    t.name = name;
    t.file = path;
    auto dt = entry.find("dtype");
    if (dt == entry.end()) input_error("{}: tensor '{}': missing field 'dtype'", path, name);
    t.dtype = parse_dtype(path, name, *dt);
    uint64_t numel = 1;
    for (uint64_t d : parse_uints(path, name, entry, "shape")) {
      if (d > (uint64_t{1} << 40) || (d && numel > (uint64_t{1} << 50) / d))
        input_error("{}: tensor '{}': shape is absurdly large", path, name);
      numel *= d;
      t.shape.push_back(static_cast<int64_t>(d));
    }
    auto offsets = parse_uints(path, name, entry, "data_offsets");
    if (offsets.size() != 2)
      input_error("{}: tensor '{}': data_offsets must hold 2 numbers, not {}", path, name, offsets.size());
    const uint64_t begin = offsets[0], end = offsets[1];
    if (begin > end) input_error("{}: tensor '{}': data_offsets [{}, {}] are reversed", path, name, begin, end);
    if (end > data_size)
      input_error("{}: tensor '{}': data_offsets [{}, {}] run past the data area ({} bytes); truncated?",
                  path, name, begin, end, data_size);
    const uint64_t expect = numel * dtype_size(t.dtype);
    if (end - begin != expect)
      input_error("{}: tensor '{}': data_offsets span {} bytes but shape {} of {} needs {}", path, name,
                  end - begin, json(t.shape).dump(), dtype_name(t.dtype), expect);
    t.nbytes = expect;
    t.data = data_area + begin;
    if (reinterpret_cast<uintptr_t>(t.data) % dtype_size(t.dtype) != 0 && t.nbytes > 0) {
      // The format does not promise alignment; copy the rare misaligned tensor.
      auto copy = std::make_unique<uint8_t[]>(t.nbytes);
      std::memcpy(copy.get(), t.data, t.nbytes);
      t.data = copy.get();
      aligned_copies_.push_back(std::move(copy));
    }
    if (expected && std::find(expected->begin(), expected->end(), name) == expected->end())
      input_error("{}: tensor '{}' is not listed for this file in the index {}", path, name, where_);
    if (tensors_.count(name)) input_error("{}: tensor '{}' also appears in {}", path, name, tensors_[name].file);
    spans.push_back({begin, end, name});
    tensors_.emplace(name, std::move(t));
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (size_t i = 1; i < spans.size(); ++i)
    if (spans[i].begin < spans[i - 1].end)
      input_error("{}: tensor '{}' (bytes {}..{}) overlaps tensor '{}' (bytes {}..{})", path, spans[i].name,
                  spans[i].begin, spans[i].end, spans[i - 1].name, spans[i - 1].begin, spans[i - 1].end);
  if (expected)
    for (const auto& name : *expected)
      if (!tensors_.count(name))
        input_error("{}: tensor '{}' is listed in the index {} but absent from the file", path, name, where_);
  headers_.push_back(std::move(header));
  files_.push_back(std::move(file));
}

Checkpoint Checkpoint::open_file(const std::string& path) {
  Checkpoint c;
  c.where_ = path;
  c.add_file(path, nullptr);
  return c;
}

Checkpoint Checkpoint::open_folder(const std::string& folder) {
  const fs::path dir(folder);
  const fs::path index = dir / "model.safetensors.index.json";
  const fs::path single = dir / "model.safetensors";
  Checkpoint c;
  if (fs::exists(index)) {
    c.where_ = index.string();
    json root;
    try {
      const std::string text = read_file(c.where_);
      check_json_depth(text, c.where_);
      root = json::parse(text);
    } catch (const json::parse_error& e) {
      input_error("{}: not valid JSON (byte {}): {}", c.where_, e.byte, e.what());
    }
    auto map = root.find("weight_map");
    if (!root.is_object() || map == root.end() || !map->is_object())
      input_error("{}: missing object 'weight_map'", c.where_);
    std::map<std::string, std::vector<std::string>> by_file;
    for (auto& [tensor, file] : map->items()) {
      if (!file.is_string()) input_error("{}: weight_map['{}'] is not a file name", c.where_, tensor);
      const std::string f = file.get<std::string>();
      if (f.empty() || f.find('/') != std::string::npos || f.find('\\') != std::string::npos || f == "." ||
          f == "..")
        input_error("{}: weight_map['{}'] = '{}' is not a plain file name", c.where_, tensor, f);
      by_file[f].push_back(tensor);
    }
    if (by_file.empty()) input_error("{}: weight_map lists no tensors", c.where_);
    for (const auto& [f, names] : by_file) c.add_file((dir / f).string(), &names);
  } else if (fs::exists(single)) {
    c.where_ = single.string();
    c.add_file(c.where_, nullptr);
  } else {
    input_error("{}: no model.safetensors or model.safetensors.index.json (other formats such as "
                "pytorch_model.bin are not read)",
                folder);
  }
  return c;
}

namespace {

// The index of the first NaN or infinity (all exponent bits set) among n values of `bits` bits
// whose exponent field is `exp_mask`, or -1.
template <typename U>
int64_t first_non_finite(const uint8_t* data, int64_t n, U exp_mask) {
  for (int64_t i = 0; i < n; ++i) {
    U v;
    std::memcpy(&v, data + i * sizeof(U), sizeof(U));
    if ((v & exp_mask) == exp_mask) return i;
  }
  return -1;
}

}  // namespace

void Checkpoint::check_finite() const {
  for (const auto& [name, t] : tensors_) {
    int64_t bad = -1;
    switch (t.dtype) {
      case DType::bf16: bad = first_non_finite<uint16_t>(t.data, t.numel(), 0x7F80); break;
      case DType::f16: bad = first_non_finite<uint16_t>(t.data, t.numel(), 0x7C00); break;
      case DType::f32: bad = first_non_finite<uint32_t>(t.data, t.numel(), 0x7F800000u); break;
    }
    if (bad >= 0)
      input_error("{}: tensor '{}' holds a non-finite value (NaN or infinity) at element {} (flat index)", t.file,
                  name, bad);
  }
}

std::vector<std::string> Checkpoint::files() const {
  std::vector<std::string> out;
  for (const auto& f : files_) out.push_back(f->path());
  return out;
}

const TensorView* Checkpoint::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

const TensorView& Checkpoint::get(const std::string& name) const {
  const TensorView* t = find(name);
  if (!t) input_error("{}: tensor '{}' is missing", where_, name);
  return *t;
}

}  // namespace ziq::model
