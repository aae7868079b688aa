// Lossless compression with a language model: `ziq compress` / `ziq decompress`.
//
// The input is cut into chunks of at most chunk_size bytes (a cut is moved back by up to 3 bytes to
// fall between UTF-8 sequences); each chunk is coded on its own, in one of three ways (a flag):
//   model   the chunk is valid UTF-8 and decode(encode(text)) gives its bytes back: its tokens
//           (encode without special tokens) are range-coded (range_coder.h) with the model's
//           next-token distribution quantized by FrequencyTable::quantize. The context starts with
//           the tokens the tokenizer adds to an empty text (encode("") with special tokens: BOS
//           for Llama-family tokenizers); when there are none, the first token is coded uniformly.
//   zstd    otherwise, libzstd level 19, when that is smaller than the bytes;
//   stored  the bytes as they are.
// The model chunks of a file are coded in batches (one model call per step for all of them).
// Decoding is sequential: at step t every chunk still decoding feeds its last token to the model's
// incremental decoder (LanguageModel::incremental: layers' q, k, v kept; attention still over the
// whole chunk, O(T^2) in a chunk's T tokens; small chunks keep it affordable), or with
// rerun_prefixes re-runs the model over its whole prefix.
//
// Determinism: the decoder must see the same distribution bits as the encoder. ziq's CPU backends
// give a row the same bits whatever the batch, thread count or what follows it, but the bits
// depend on the kernel class (the GEMM and attention kernels the CPU picks, the precision). The
// file records the backend string (ModelInfo::backend, e.g. "cpu (avx512-f32)", plus any of
// ZIQ_CPU, ZIQ_GEMM, ZIQ_ATTENTION, ZIQ_AMX that is set, as "; NAME=value") and precision;
// decompression with any other is refused (this is the "fast mode"; a portable mode is future
// work).
//
// File format (integers little-endian; str = u16 length + bytes):
//   "ZIQ1", u8 version (1),
//   str model name, str model fingerprint, str weights hash (XXH3-128 of the safetensors files,
//   empty for random weights), str tokenizer fingerprint, str backend, str precision,
//   u64 vocabulary size, u32 chunk size, u64 original size, u64 chunk count,
//   u64 XXH3-64 of the whole original, u64 XXH3-64 of the header bytes before it;
//   per chunk: u8 kind (0 model, 1 zstd, 2 stored), original bytes and payload bytes (LEB128
//   varints), u32 checksums (XXH3-64's low 32 bits) of the original bytes and of the payload (the
//   payload's is checked before any decoding), then the payload
//   (model: the token count as a LEB128 varint + the range coder's bytes).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace ziq::model { class LanguageModel; }
namespace ziq::tok { class Tokenizer; }

namespace ziq::codec {

enum class ChunkKind : uint8_t { model = 0, zstd = 1, stored = 2 };
const char* chunk_kind_name(ChunkKind k);

struct ChunkStats {
  ChunkKind kind = ChunkKind::stored;
  uint64_t offset = 0, bytes = 0, payload_bytes = 0;
  int64_t tokens = 0;
  uint64_t coder_bytes = 0;  // model chunks: the range coder's bytes (the payload less the token count)
  double model_bits = 0;  // model chunks: sum of -log2 p(token) under the unquantized distribution
};

struct CompressStats {
  uint64_t input_bytes = 0, output_bytes = 0, header_bytes = 0;
  std::vector<ChunkStats> chunks;
};

struct CodecOptions {
  uint32_t chunk_size = 1024;
  int batch = 16;  // chunks per model call
  // Decompression: re-run each chunk's whole prefix at every step instead of the model's
  // incremental decoder (slow; for checking that both give the same bytes).
  bool rerun_prefixes = false;
  // Called after each batch of chunks with (chunks done, chunks in all).
  std::function<void(size_t, size_t)> progress;
};

// The model's identity as the file records it (`model_name` only for messages).
struct ModelIdentity {
  std::string name, fingerprint, weights_hash, tokenizer_fingerprint, backend, precision;
  int64_t vocab_size = 0;
};
ModelIdentity identify(const model::LanguageModel& lm, const tok::Tokenizer& tokenizer);

std::string compress(std::string_view input, model::LanguageModel& lm, const tok::Tokenizer& tokenizer,
                     const CodecOptions& options, CompressStats* stats = nullptr);

// input_error (exit 3) for a file that is not a ziq file, truncated or corrupt (naming the chunk),
// or made with another model, tokenizer or kernel class. `where` names the file in messages.
std::string decompress(std::string_view file, model::LanguageModel& lm, const tok::Tokenizer& tokenizer,
                       const CodecOptions& options, const std::string& where);

// The header's model identity, read without a model (to choose or check one).
ModelIdentity read_identity(std::string_view file, const std::string& where);

}  // namespace ziq::codec
