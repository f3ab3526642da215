#include "runtime/plugin/blob_store.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "fmt/format.h"
#include "runtime/base/status.h"

namespace sluice::plugin {
namespace {

// Incremental SHA-256 over OpenSSL's EVP interface.
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view bytes) { EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()); }
  std::string HexDigest() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_, digest, &n);
    std::string hex;
    hex.reserve(2 * n);
    for (unsigned int i = 0; i < n; ++i) hex += fmt::format("{:02x}", digest[i]);
    return hex;
  }

 private:
  EVP_MD_CTX* ctx_;
};

std::atomic<uint64_t> g_temp_counter{0};

}  // namespace

std::string Sha256Hex(std::string_view bytes) {
  Sha256 h;
  h.Update(bytes);
  return h.HexDigest();
}

absl::StatusOr<std::string> Sha256OfFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    if (err == ENOENT) return NotFoundF("cannot read '{}': {}", path, std::strerror(err));
    return InternalF("cannot read '{}': {}", path, std::strerror(err));
  }
  Sha256 h;
  std::string buf(1 << 16, '\0');
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h.Update(std::string_view(buf.data(), static_cast<size_t>(in.gcount())));
  }
  if (in.bad()) return InternalF("error reading '{}'", path);
  return h.HexDigest();
}

bool IsBlobKey(std::string_view key) {
  if (key.size() != 64) return false;
  for (char c : key) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

struct BlobWriter::Impl {
  std::string key;
  std::string temp_path;
  std::string final_path;
  std::ofstream out;
  Sha256 hash;
  int64_t bytes = 0;
  bool committed = false;
};

BlobWriter::BlobWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

BlobWriter::~BlobWriter() {
  if (!impl_->committed) {
    impl_->out.close();
    std::error_code ec;
    std::filesystem::remove(impl_->temp_path, ec);
  }
}

absl::Status BlobWriter::Append(std::string_view bytes) {
  impl_->bytes += static_cast<int64_t>(bytes.size());
  if (impl_->bytes > kMaxBlobBytes) {
    return InvalidArgumentF("blob {} is larger than the limit of {} bytes", impl_->key, kMaxBlobBytes);
  }
  impl_->hash.Update(bytes);
  impl_->out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!impl_->out) return InternalF("cannot write '{}': {}", impl_->temp_path, std::strerror(errno));
  return absl::OkStatus();
}

absl::StatusOr<std::string> BlobWriter::Commit() {
  impl_->out.close();
  if (!impl_->out) return InternalF("cannot write '{}': {}", impl_->temp_path, std::strerror(errno));
  const std::string actual = impl_->hash.HexDigest();
  if (actual != impl_->key) {
    return InvalidArgumentF("blob checksum mismatch: announced SHA-256 {}, received {} bytes with "
                            "SHA-256 {}", impl_->key, impl_->bytes, actual);
  }
  std::error_code ec;
  std::filesystem::rename(impl_->temp_path, impl_->final_path, ec);
  if (ec) return InternalF("cannot move blob into '{}': {}", impl_->final_path, ec.message());
  impl_->committed = true;
  return impl_->final_path;
}

absl::StatusOr<std::unique_ptr<BlobStore>> BlobStore::Open(std::string dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return InternalF("cannot create blob directory '{}': {}", dir, ec.message());
  return std::unique_ptr<BlobStore>(new BlobStore(std::move(dir)));
}

std::string BlobStore::DefaultDir(const std::string& configured) {
  if (!configured.empty()) return configured;
  std::error_code ec;
  std::filesystem::path tmp = std::filesystem::temp_directory_path(ec);
  if (ec) tmp = "/tmp";
  return (tmp / "sluice-blobs").string();
}

bool BlobStore::Contains(std::string_view key) const {
  std::error_code ec;
  return IsBlobKey(key) && std::filesystem::exists(fmt::format("{}/{}", dir_, key), ec);
}

absl::StatusOr<std::string> BlobStore::PathOf(std::string_view key) const {
  if (!IsBlobKey(key)) return InvalidArgumentF("malformed blob key '{}' (expected 64 hex digits)", key);
  const std::string path = fmt::format("{}/{}", dir_, key);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return NotFoundF("blob {} not found in {}", key, dir_);
  ASSIGN_OR_RETURN(std::string actual, Sha256OfFile(path));
  if (actual != key) {
    std::filesystem::remove(path, ec);
    return InvalidArgumentF("blob {} in {} was corrupt (its SHA-256 is {}); it was deleted", key,
                            dir_, actual);
  }
  return path;
}

absl::StatusOr<std::unique_ptr<BlobWriter>> BlobStore::Write(std::string_view key) const {
  if (!IsBlobKey(key)) return InvalidArgumentF("malformed blob key '{}' (expected 64 hex digits)", key);
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return InternalF("cannot create blob directory '{}': {}", dir_, ec.message());
  auto impl = std::make_unique<BlobWriter::Impl>();
  impl->key = std::string(key);
  impl->final_path = fmt::format("{}/{}", dir_, key);
  impl->temp_path = fmt::format("{}/.{}.{}.{}.tmp", dir_, key, getpid(), g_temp_counter.fetch_add(1));
  impl->out.open(impl->temp_path, std::ios::binary | std::ios::trunc);
  if (!impl->out) return InternalF("cannot create '{}': {}", impl->temp_path, std::strerror(errno));
  return std::unique_ptr<BlobWriter>(new BlobWriter(std::move(impl)));
}

absl::StatusOr<std::string> BlobStore::PutFile(const std::string& path) const {
  ASSIGN_OR_RETURN(std::string key, Sha256OfFile(path));
  if (Contains(key)) return key;
  ASSIGN_OR_RETURN(auto writer, Write(key));
  std::ifstream in(path, std::ios::binary);
  std::string buf(1 << 16, '\0');
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    RETURN_IF_ERROR(writer->Append(std::string_view(buf.data(), static_cast<size_t>(in.gcount()))));
  }
  RETURN_IF_ERROR(writer->Commit().status());
  return key;
}

}  // namespace sluice::plugin
