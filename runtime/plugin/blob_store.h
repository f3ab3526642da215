#pragma once
// A content-addressed blob store (Flink's BlobServer / BlobCache for job JARs): files named by
// the SHA-256 of their bytes (64 lower-case hex digits) in one directory. The JobManager keeps
// uploaded job plugins in one (`blob.storage.directory`); each TaskManager caches the blobs it
// fetched in its own. Blobs survive restarts (they are plain files); writing one is atomic (a
// temporary file renamed into place), so a crash never leaves a partial blob under its key, and
// two processes sharing the directory are safe. Contents are verified against their key when
// written and when opened (OpenSSL's SHA-256).
//
// Errors: InvalidArgument for a malformed key, a checksum mismatch or a blob above the size
// limit; NotFound for a missing blob; Internal for I/O errors (naming the path and errno).
// Thread-safe (no shared mutable state besides the file system).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace sluice::plugin {

// SHA-256 of `bytes`, 64 lower-case hex digits.
std::string Sha256Hex(std::string_view bytes);
// SHA-256 of a file's contents; Internal/NotFound on I/O errors.
absl::StatusOr<std::string> Sha256OfFile(const std::string& path);
// Whether `key` is 64 lower-case hex digits.
bool IsBlobKey(std::string_view key);

// Largest blob accepted, bytes (1 GiB).
inline constexpr int64_t kMaxBlobBytes = int64_t{1} << 30;

// Receives one blob in chunks: bytes go to a temporary file in the store's directory while
// their SHA-256 is computed; Commit checks it against the expected key and renames the file into
// place (an existing blob with that key is kept). The temporary file is removed unless committed.
class BlobWriter {
 public:
  ~BlobWriter();
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;
  // InvalidArgument once more than kMaxBlobBytes arrived; Internal on write errors.
  absl::Status Append(std::string_view bytes);
  // The committed blob's path.
  absl::StatusOr<std::string> Commit();

 private:
  friend class BlobStore;
  struct Impl;
  explicit BlobWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class BlobStore {
 public:
  // A store over `dir`; Open() creates the directory, or Write creates it on first use.
  explicit BlobStore(std::string dir) : dir_(std::move(dir)) {}
  // Creates `dir` if missing (Internal when it cannot).
  static absl::StatusOr<std::unique_ptr<BlobStore>> Open(std::string dir);
  // The directory of a process's blob store: `configured` if set, else
  // <system temp dir>/sluice-blobs (outlives the process, so blobs survive restarts).
  static std::string DefaultDir(const std::string& configured);

  const std::string& dir() const { return dir_; }
  // The path of blob `key` after checking that its contents still match the key; NotFound when
  // absent, InvalidArgument for a bad key or a corrupt file (which is then deleted).
  absl::StatusOr<std::string> PathOf(std::string_view key) const;
  bool Contains(std::string_view key) const;
  // Starts writing blob `key` (InvalidArgument for a malformed key).
  absl::StatusOr<std::unique_ptr<BlobWriter>> Write(std::string_view key) const;
  // Stores the file at `path` (copying it); returns its key.
  absl::StatusOr<std::string> PutFile(const std::string& path) const;

 private:
  std::string dir_;
};

}  // namespace sluice::plugin
