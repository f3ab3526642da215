#pragma once
// Line reading for the file source (internal to runtime/connectors/file): a plain file from any
// byte offset or a gzip file from its start, line by line through a 1 MiB reusable buffer.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/base/status.h"

namespace sluice::connectors {

inline constexpr size_t kReadBufferBytes = size_t{1} << 20;

inline bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

inline absl::Status OpenError(const std::string& path, int err) {
  if (err == ENOENT || err == ENOTDIR) {
    return NotFoundF("file source: cannot open '{}': {}", path, std::strerror(err));
  }
  return FailedPreconditionF("file source: cannot open '{}': {}", path, std::strerror(err));
}

// Reads one file (plain, from any byte offset; or gzip, from the start) line by line through a
// growable buffer. Lines are returned as views into the buffer, valid until the next call.
// Owned by CsvFileSource, one Task thread.
class LineReader {
 public:
  LineReader() : buf_(kReadBufferBytes) {}
  ~LineReader() { Close(); }
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Opens `path` positioned at byte `start` of its (uncompressed) content; for gzip the bytes
  // before `start` are decompressed and skipped.
  absl::Status Open(const std::string& path, bool gz, int64_t start) {
    Close();
    path_ = path;
    gz_ = gz;
    begin_ = end_ = scan_ = 0;
    begin_offset_ = start;
    eof_ = false;
    if (gz) {
      gz_file_ = gzopen(path.c_str(), "rb");
      if (gz_file_ == nullptr) return OpenError(path, errno ? errno : ENOMEM);
      gzbuffer(gz_file_, kReadBufferBytes);
      // A forward seek in a gzip stream decompresses and discards; it is done lazily by the
      // first read, where a corrupt stream is reported as DataLoss.
      if (start > 0 && gzseek(gz_file_, static_cast<z_off_t>(start), SEEK_SET) < 0) {
        int errnum = Z_OK;
        const char* msg = gzerror(gz_file_, &errnum);
        return DataLossF("file source: cannot skip to byte {} of '{}': {}", start, path, msg);
      }
      return absl::OkStatus();
    }
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return OpenError(path, errno);
    if (start > 0 && ::lseek(fd_, start, SEEK_SET) < 0) {
      return InternalF("file source: cannot seek '{}' to byte {}: {}", path, start,
                       std::strerror(errno));
    }
    return absl::OkStatus();
  }

  // Sets *line to the next line without its terminator ('\n' or "\r\n") and *offset to the
  // (uncompressed) byte offset where it starts. Returns false at end of input.
  absl::StatusOr<bool> Next(std::string_view* line, int64_t* offset) {
    ASSIGN_OR_RETURN(bool got, Peek(line, offset));
    if (got) {
      begin_ += peeked_;
      begin_offset_ += static_cast<int64_t>(peeked_);
      scan_ = begin_;
    }
    return got;
  }

  // As Next, but leaves the line unread: the next Peek or Next returns it again.
  absl::StatusOr<bool> Peek(std::string_view* line, int64_t* offset) {
    for (;;) {
      const void* nl =
          scan_ < end_ ? std::memchr(buf_.data() + scan_, '\n', end_ - scan_) : nullptr;
      if (nl != nullptr) {
        size_t pos = static_cast<const char*>(nl) - buf_.data();
        scan_ = pos;
        View(pos - begin_, 1, line, offset);
        return true;
      }
      if (eof_) {
        if (begin_ == end_) return false;
        View(end_ - begin_, 0, line, offset);
        return true;
      }
      if (begin_ > 0) {  // keep only the partial line, then refill behind it
        std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
      }
      scan_ = end_;
      if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);  // a line longer than the buffer
      ASSIGN_OR_RETURN(size_t n, Read(buf_.data() + end_, buf_.size() - end_));
      if (n == 0) eof_ = true;
      end_ += n;
    }
  }

  // The (uncompressed) byte offset of the next line Next() would return.
  int64_t next_offset() const { return begin_offset_; }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (gz_file_ != nullptr) gzclose(gz_file_);
    gz_file_ = nullptr;
  }

 private:
  // The line at begin_ of `len` bytes plus `terminator`; Next consumes peeked_ bytes.
  void View(size_t len, size_t terminator, std::string_view* line, int64_t* offset) {
    std::string_view l(buf_.data() + begin_, len);
    *offset = begin_offset_;
    peeked_ = len + terminator;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    *line = l;
  }

  absl::StatusOr<size_t> Read(char* dst, size_t n) {
    if (gz_) {
      int got = gzread(gz_file_, dst, static_cast<unsigned>(n));
      int errnum = Z_OK;
      const char* msg = gzerror(gz_file_, &errnum);
      if (got < 0 || (errnum != Z_OK && errnum != Z_STREAM_END)) {
        if (errnum == Z_ERRNO) {
          return InternalF("file source: cannot read '{}': {}", path_, std::strerror(errno));
        }
        return DataLossF("file source: '{}' is not valid gzip data: {}", path_, msg);
      }
      return static_cast<size_t>(got);
    }
    for (;;) {
      ssize_t got = ::read(fd_, dst, n);
      if (got >= 0) return static_cast<size_t>(got);
      if (errno != EINTR) {
        return InternalF("file source: cannot read '{}': {}", path_, std::strerror(errno));
      }
    }
  }

  std::string path_;
  bool gz_ = false;
  int fd_ = -1;
  gzFile gz_file_ = nullptr;
  std::vector<char> buf_;
  size_t begin_ = 0;          // start of the unread data in buf_
  size_t end_ = 0;            // end of the valid data in buf_
  size_t scan_ = 0;           // where to continue looking for '\n'
  int64_t begin_offset_ = 0;  // file offset of buf_[begin_]
  size_t peeked_ = 0;         // length of the line last returned by Peek, with terminator
  bool eof_ = false;
};

// Counts the physical line on which byte `offset` of `path` lies (1-based). Error path only.
inline absl::StatusOr<int64_t> LineNumberAt(const std::string& path, bool gz, int64_t offset) {
  LineReader r;
  RETURN_IF_ERROR(r.Open(path, gz, 0));
  std::string_view line;
  int64_t off = 0;
  int64_t n = 0;
  for (;;) {
    ASSIGN_OR_RETURN(bool got, r.Next(&line, &off));
    if (!got || off > offset) break;
    ++n;
  }
  return std::max<int64_t>(n, 1);
}

}  // namespace sluice::connectors
