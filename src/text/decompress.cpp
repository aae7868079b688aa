#include "text/decompress.h"

#include <lzma.h>
#include <sys/stat.h>
#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "core/error.h"

namespace ziq::text {

Compression detect_compression(std::string_view h) {
  auto starts = [&](std::string_view magic) { return h.substr(0, magic.size()) == magic; };
  if (starts("\x1f\x8b")) return Compression::gzip;
  if (starts("\x28\xb5\x2f\xfd")) return Compression::zstd;
  if (starts(std::string_view("\xfd" "7zXZ\0", 6))) return Compression::xz;
  return Compression::none;
}

const char* compression_name(Compression c) {
  switch (c) {
    case Compression::none: return "none";
    case Compression::gzip: return "gzip";
    case Compression::zstd: return "zstd";
    case Compression::xz: return "xz";
  }
  return "?";
}

namespace {

constexpr size_t kChunk = 1 << 18;

// The raw bytes of a file or stdin, through one buffer that the decoders consume in place.
class RawInput {
 public:
  explicit RawInput(const std::string& path) : path_(path), buf_(kChunk) {
    if (path == "-") {
      f_ = stdin;
    } else {
      f_ = std::fopen(path.c_str(), "rb");
      if (!f_) input_error("{}: cannot open: {}", path, std::strerror(errno));
      struct stat st;
      if (fstat(fileno(f_), &st) == 0 && S_ISREG(st.st_mode)) size_ = st.st_size;
      if (fstat(fileno(f_), &st) == 0 && S_ISDIR(st.st_mode)) {
        std::fclose(f_);
        input_error("{}: is a directory", path);
      }
    }
  }
  ~RawInput() {
    if (f_ && f_ != stdin) std::fclose(f_);
  }
  // Refills when the buffer is consumed; false at end of file.
  bool fill() {
    if (pos_ < end_) return true;
    if (eof_) return false;
    pos_ = 0;
    end_ = std::fread(buf_.data(), 1, buf_.size(), f_);
    if (end_ < buf_.size()) {
      if (std::ferror(f_)) input_error("{}: read error: {}", path_, std::strerror(errno));
      eof_ = true;
    }
    return end_ > 0;
  }
  // Reads until at least n bytes are buffered (or end of file), for magic-number sniffing.
  std::string_view peek(size_t n) {
    while (end_ - pos_ < n && !eof_) {
      if (pos_ > 0) {
        std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
        end_ -= pos_;
        pos_ = 0;
      }
      size_t got = std::fread(buf_.data() + end_, 1, buf_.size() - end_, f_);
      if (got == 0) {
        if (std::ferror(f_)) input_error("{}: read error: {}", path_, std::strerror(errno));
        eof_ = true;
      }
      end_ += got;
    }
    return {buf_.data() + pos_, end_ - pos_};
  }
  const char* data() const { return buf_.data() + pos_; }
  size_t available() const { return end_ - pos_; }
  void consume(size_t n) {
    pos_ += n;
    consumed_ += n;
  }
  bool at_eof() { return !fill(); }
  uint64_t consumed() const { return consumed_; }
  uint64_t size() const { return size_; }

 private:
  std::string path_;
  FILE* f_ = nullptr;
  std::vector<char> buf_;
  size_t pos_ = 0, end_ = 0;
  bool eof_ = false;
  uint64_t consumed_ = 0, size_ = 0;
};

class Source : public ByteSource {
 public:
  Source(const std::string& path, std::unique_ptr<RawInput> in) : in_(std::move(in)) {
    path_ = path;
    raw_size_ = in_->size();
  }
  size_t read(char* buf, size_t n) final {
    size_t got = decode(buf, n);
    raw_read_ = in_->consumed();
    return got;
  }

 protected:
  virtual size_t decode(char* buf, size_t n) = 0;
  std::unique_ptr<RawInput> in_;
};

class PlainSource final : public Source {
 public:
  using Source::Source;
  size_t decode(char* buf, size_t n) override {
    if (!in_->fill()) return 0;
    size_t k = std::min(n, in_->available());
    std::memcpy(buf, in_->data(), k);
    in_->consume(k);
    return k;
  }
};

class GzipSource final : public Source {
 public:
  GzipSource(const std::string& path, std::unique_ptr<RawInput> in) : Source(path, std::move(in)) {
    if (inflateInit2(&z_, 15 + 16) != Z_OK) internal_error("zlib: inflateInit2 failed");
  }
  ~GzipSource() override { inflateEnd(&z_); }
  size_t decode(char* buf, size_t n) override {
    z_.next_out = reinterpret_cast<Bytef*>(buf);
    z_.avail_out = static_cast<uInt>(n);
    while (z_.avail_out == n) {
      bool more = in_->fill();
      if (!more && !mid_member_) return 0;
      if (!mid_member_) {  // a new member starts (gzip files may be concatenations)
        inflateReset(&z_);
        mid_member_ = true;
      }
      // With no input left, zlib may still hold output of the current member.
      z_.next_in = more ? reinterpret_cast<Bytef*>(const_cast<char*>(in_->data())) : nullptr;
      z_.avail_in = more ? static_cast<uInt>(in_->available()) : 0;
      int rc = inflate(&z_, Z_NO_FLUSH);
      if (more) in_->consume(in_->available() - z_.avail_in);
      if (rc == Z_STREAM_END) {
        mid_member_ = false;
      } else if (rc == Z_BUF_ERROR) {
        if (!more) input_error("{}: truncated gzip data", path_);
      } else if (rc != Z_OK) {
        input_error("{}: corrupt gzip data ({})", path_, z_.msg ? z_.msg : "inflate failed");
      }
    }
    return n - z_.avail_out;
  }

 private:
  z_stream z_{};
  bool mid_member_ = false;
};

class ZstdSource final : public Source {
 public:
  ZstdSource(const std::string& path, std::unique_ptr<RawInput> in)
      : Source(path, std::move(in)), d_(ZSTD_createDStream()) {
    if (!d_) internal_error("zstd: cannot create a decompression context");
    // Corpora may have been compressed with --long=31 or the like.
    ZSTD_DCtx_setParameter(d_, ZSTD_d_windowLogMax, 31);
  }
  ~ZstdSource() override { ZSTD_freeDStream(d_); }
  size_t decode(char* buf, size_t n) override {
    ZSTD_outBuffer out{buf, n, 0};
    while (out.pos == 0) {
      // With no input left, zstd may still hold decoded output: keep calling until it is drained.
      bool more = in_->fill();
      ZSTD_inBuffer inb{more ? in_->data() : nullptr, more ? in_->available() : 0, 0};
      size_t rc = ZSTD_decompressStream(d_, &out, &inb);
      if (more) in_->consume(inb.pos);
      if (ZSTD_isError(rc)) input_error("{}: corrupt zstd data ({})", path_, ZSTD_getErrorName(rc));
      if (more || out.pos > 0) pending_ = rc;
      if (!more && out.pos == 0) {
        if (pending_ != 0) input_error("{}: truncated zstd data", path_);
        return 0;
      }
    }
    return out.pos;
  }

 private:
  ZSTD_DStream* d_;
  size_t pending_ = 0;  // 0 when the last frame is complete
};

class XzSource final : public Source {
 public:
  XzSource(const std::string& path, std::unique_ptr<RawInput> in) : Source(path, std::move(in)) {
    if (lzma_stream_decoder(&s_, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK)
      internal_error("liblzma: cannot create a decoder");
  }
  ~XzSource() override { lzma_end(&s_); }
  size_t decode(char* buf, size_t n) override {
    if (done_) return 0;
    s_.next_out = reinterpret_cast<uint8_t*>(buf);
    s_.avail_out = n;
    while (s_.avail_out == n) {
      bool more = in_->fill();
      s_.next_in = reinterpret_cast<const uint8_t*>(in_->data());
      s_.avail_in = in_->available();
      lzma_ret rc = lzma_code(&s_, more ? LZMA_RUN : LZMA_FINISH);
      in_->consume(in_->available() - s_.avail_in);
      if (rc == LZMA_STREAM_END) {
        done_ = true;
        break;
      }
      if (rc == LZMA_BUF_ERROR && !more) input_error("{}: truncated xz data", path_);
      if (rc != LZMA_OK) input_error("{}: corrupt xz data (liblzma error {})", path_, static_cast<int>(rc));
    }
    return n - s_.avail_out;
  }

 private:
  lzma_stream s_ = LZMA_STREAM_INIT;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<ByteSource> ByteSource::open(const std::string& path) {
  auto in = std::make_unique<RawInput>(path);
  Compression c = detect_compression(in->peek(6));
  std::unique_ptr<ByteSource> s;
  switch (c) {
    case Compression::none: s = std::make_unique<PlainSource>(path, std::move(in)); break;
    case Compression::gzip: s = std::make_unique<GzipSource>(path, std::move(in)); break;
    case Compression::zstd: s = std::make_unique<ZstdSource>(path, std::move(in)); break;
    case Compression::xz: s = std::make_unique<XzSource>(path, std::move(in)); break;
  }
  s->compression_ = c;
  return s;
}

std::string read_decompressed_file(const std::string& path) {
  auto src = ByteSource::open(path);
  std::string out;
  std::vector<char> buf(kChunk);
  while (size_t n = src->read(buf.data(), buf.size())) out.append(buf.data(), n);
  return out;
}

}  // namespace ziq::text
