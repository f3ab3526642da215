#include "runtime/state/serialization.h"

namespace sluice::state {

absl::Status ByteReader::Truncated(size_t needed) const {
  return DataLossF("truncated or corrupt state bytes: needed {} bytes at offset {}, only {} left",
                   needed, pos_, remaining());
}

absl::Status ByteReader::ReadVarint64(uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= data_.size()) [[unlikely]] return Truncated(1);
    uint8_t b = static_cast<uint8_t>(data_[pos_++]);
    if (shift == 63 && b > 1) [[unlikely]] {
      return DataLossF("corrupt state bytes: varint overflows 64 bits at offset {}", pos_ - 1);
    }
    result |= uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80) == 0) {
      *v = result;
      return absl::OkStatus();
    }
  }
  return DataLossF("corrupt state bytes: varint longer than 10 bytes at offset {}", pos_);
}

absl::Status ByteReader::ReadLength(uint64_t* v, uint64_t max) {
  size_t at = pos_;
  RETURN_IF_ERROR(ReadVarint64(v));
  if (*v > max) [[unlikely]] {
    return DataLossF("corrupt state bytes: length {} at offset {} exceeds the {} bytes left", *v,
                     at, max);
  }
  return absl::OkStatus();
}

absl::Status ByteReader::ReadStringView(std::string_view* s) {
  uint64_t n = 0;
  RETURN_IF_ERROR(ReadLength(&n, remaining()));
  *s = data_.substr(pos_, n);
  pos_ += n;
  return absl::OkStatus();
}

absl::Status ByteReader::ReadString(std::string* s) {
  std::string_view v;
  RETURN_IF_ERROR(ReadStringView(&v));
  s->assign(v.data(), v.size());
  return absl::OkStatus();
}

absl::Status ByteReader::ReadRaw(size_t n, std::string_view* s) {
  if (remaining() < n) return Truncated(n);
  *s = data_.substr(pos_, n);
  pos_ += n;
  return absl::OkStatus();
}

absl::Status ByteReader::Skip(size_t n) {
  if (remaining() < n) return Truncated(n);
  pos_ += n;
  return absl::OkStatus();
}

absl::Status ByteReader::Seek(size_t pos) {
  if (pos > data_.size()) {
    return DataLossF("corrupt state bytes: offset {} is past the end ({} bytes)", pos,
                     data_.size());
  }
  pos_ = pos;
  return absl::OkStatus();
}

uint64_t Checksum64(std::string_view bytes) {
  // Word-at-a-time multiply/xor mixing (in the spirit of wyhash/xxh64, much simpler): a single
  // serial dependency chain of ~1 multiply per 8 bytes, several GB/s.
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
  uint64_t h = 0x243F6A8885A308D3ull ^ (bytes.size() * kMul);
  const char* p = bytes.data();
  size_t n = bytes.size();
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * kMul;
    h ^= h >> 32;
    p += 8;
    n -= 8;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, p, n);
  h = (h ^ tail ^ (uint64_t{n} << 56)) * kMul;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 32;
  return h;
}

}  // namespace sluice::state
