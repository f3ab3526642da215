#pragma once
// Compact binary encoding of the connectors' operator state (file source positions, file sink
// pending files, Kafka source offsets). Internal to runtime/connectors.
//
// Layout: a 4-byte magic naming the state kind ("CSVS" file source, "FSNK" file sink, "KFKS"
// Kafka source), a u32 format
// version, then fields in a fixed order: integers as little-endian fixed-width, strings as a u32
// length followed by the bytes. Readers check the magic and version and every length against
// the remaining bytes, so a truncated or foreign blob is reported, never misread.
//
// Threading: plain values, no shared state.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/base/status.h"

namespace sluice::formats {

// Appends fields to a byte string.
class StateWriter {
 public:
  StateWriter(std::string_view magic, uint32_t version) {
    out_.append(magic.data(), magic.size());
    U32(version);
  }
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U32(uint32_t v) { Fixed(v); }
  void I64(int64_t v) { Fixed(static_cast<uint64_t>(v)); }
  void Str(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    out_.append(s.data(), s.size());
  }
  std::string Finish() && { return std::move(out_); }

 private:
  template <typename T>
  void Fixed(T v) {
    for (size_t i = 0; i < sizeof(T); ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string out_;
};

// Reads fields written by StateWriter; every read fails with DataLoss naming `what` (e.g.
// "file source state") once the input is exhausted or malformed.
class StateReader {
 public:
  StateReader(std::string_view data, std::string_view what) : data_(data), what_(what) {}

  // Checks the magic and returns the version.
  absl::StatusOr<uint32_t> Header(std::string_view magic) {
    if (data_.substr(0, magic.size()) != magic) {
      return DataLossF(
          "{}: restored state does not start with '{}' ({} bytes); it was not "
          "written by this connector",
          what_, magic, data_.size());
    }
    pos_ = magic.size();
    return U32();
  }
  // Checks the magic and that the version is `version`: FailedPrecondition "<what>: restored
  // state has format version N; this version reads version M" otherwise.
  absl::Status Header(std::string_view magic, uint32_t version) {
    ASSIGN_OR_RETURN(uint32_t found, Header(magic));
    if (found != version) {
      return FailedPreconditionF(
          "{}: restored state has format version {}; this version reads version {}", what_, found,
          version);
    }
    return absl::OkStatus();
  }
  absl::StatusOr<uint8_t> U8() {
    RETURN_IF_ERROR(Need(1));
    return static_cast<uint8_t>(data_[pos_++]);
  }
  absl::StatusOr<uint32_t> U32() { return Fixed<uint32_t>(); }
  absl::StatusOr<int64_t> I64() {
    ASSIGN_OR_RETURN(uint64_t v, Fixed<uint64_t>());
    return static_cast<int64_t>(v);
  }
  absl::StatusOr<std::string> Str() {
    ASSIGN_OR_RETURN(uint32_t n, U32());
    RETURN_IF_ERROR(Need(n));
    std::string s(data_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  // Fails if bytes are left over.
  absl::Status End() const {
    if (pos_ != data_.size()) {
      return DataLossF("{}: restored state has {} unexpected trailing bytes", what_,
                       data_.size() - pos_);
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Need(size_t n) const {
    if (data_.size() - pos_ < n) {
      return DataLossF("{}: restored state is truncated: needed {} more bytes at byte {} of {}",
                       what_, n, pos_, data_.size());
    }
    return absl::OkStatus();
  }
  template <typename T>
  absl::StatusOr<T> Fixed() {
    RETURN_IF_ERROR(Need(sizeof(T)));
    T v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) {
      v |= static_cast<T>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
    }
    pos_ += sizeof(T);
    return v;
  }

  std::string_view data_;
  std::string_view what_;
  size_t pos_ = 0;
};

}  // namespace sluice::formats
