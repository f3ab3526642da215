#pragma once
// Byte-level serialization for keyed state snapshots (Flink's DataOutputView/DataInputView and
// TypeSerializer, reduced to what Sluice needs).
//
// - ByteWriter appends to a caller-owned std::string: little-endian fixed-width integers,
//   LEB128 varints, length-prefixed strings, and back-patching of fixed-width placeholders.
// - ByteReader reads from a std::string_view with bounds checks; every read that would run past
//   the end, or a malformed varint, returns absl::DataLoss naming the offset.
// - Serializer<T> is the extension point: a struct with
//       static void Write(const T& value, ByteWriter& out);
//       static absl::Status Read(ByteReader& in, T* value);  // overwrites *value
//   Provided for int32_t, int64_t, uint64_t, double, bool, std::string, std::vector<T> and
//   absl::flat_hash_map<K, V> (for any serializable T, K, V). Operators specialise it for their
//   own structs:
//       template <> struct sluice::state::Serializer<MyAcc> {
//         static void Write(const MyAcc& a, ByteWriter& w) { w.WriteFixed64(a.count); ... }
//         static absl::Status Read(ByteReader& r, MyAcc* a) { return r.ReadFixed64(&a->count); }
//       };
//
// Thread safety: writers and readers are single-threaded value types.

#include <bit>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "runtime/base/status.h"

namespace sluice::state {

static_assert(std::endian::native == std::endian::little,
              "snapshot encoding assumes a little-endian host");

// Appends encoded values to `*out` (not owned; must outlive the writer). Never fails.
class ByteWriter {
 public:
  explicit ByteWriter(std::string* out) : out_(out) {}

  void WriteFixed32(uint32_t v) { Append(&v, sizeof(v)); }
  void WriteFixed64(uint64_t v) { Append(&v, sizeof(v)); }
  void WriteI32(int32_t v) { WriteFixed32(static_cast<uint32_t>(v)); }
  void WriteI64(int64_t v) { WriteFixed64(static_cast<uint64_t>(v)); }
  void WriteU8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void WriteDouble(double v) { WriteFixed64(std::bit_cast<uint64_t>(v)); }
  // LEB128, 1..10 bytes.
  void WriteVarint64(uint64_t v) {
    char buf[10];
    size_t n = 0;
    while (v >= 0x80) {
      buf[n++] = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    buf[n++] = static_cast<char>(v);
    out_->append(buf, n);
  }
  // Varint length followed by the bytes.
  void WriteString(std::string_view s) {
    WriteVarint64(s.size());
    out_->append(s.data(), s.size());
  }
  void WriteRaw(std::string_view s) { out_->append(s.data(), s.size()); }

  // Current size of the output (an offset usable with PatchFixed64).
  size_t position() const { return out_->size(); }
  // Reserves 8 bytes to be filled later by PatchFixed64; returns their offset.
  size_t ReserveFixed64() {
    size_t at = out_->size();
    WriteFixed64(0);
    return at;
  }
  void PatchFixed64(size_t at, uint64_t v) { std::memcpy(out_->data() + at, &v, sizeof(v)); }

  std::string* buffer() { return out_; }

 private:
  void Append(const void* p, size_t n) { out_->append(static_cast<const char*>(p), n); }
  std::string* out_;
};

// Bounds-checked reads from a byte view (not owned). Errors are absl::DataLoss with the offset.
class ByteReader {
 public:
  explicit ByteReader(std::string_view data) : data_(data) {}

  absl::Status ReadFixed32(uint32_t* v) { return ReadPod(v); }
  absl::Status ReadFixed64(uint64_t* v) { return ReadPod(v); }
  absl::Status ReadI32(int32_t* v) { return ReadPod(v); }
  absl::Status ReadI64(int64_t* v) { return ReadPod(v); }
  absl::Status ReadU8(uint8_t* v) { return ReadPod(v); }
  absl::Status ReadDouble(double* v) { return ReadPod(v); }
  absl::Status ReadVarint64(uint64_t* v);
  // Reads a varint that must fit `max` (e.g. a count bounded by the remaining bytes).
  absl::Status ReadLength(uint64_t* v, uint64_t max);
  // Length-prefixed string; the view points into the underlying data.
  absl::Status ReadStringView(std::string_view* s);
  absl::Status ReadString(std::string* s);  // reuses s's capacity
  absl::Status ReadRaw(size_t n, std::string_view* s);
  absl::Status Skip(size_t n);
  // Moves to absolute offset `pos` (<= size()).
  absl::Status Seek(size_t pos);

  size_t position() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  size_t size() const { return data_.size(); }
  bool at_end() const { return pos_ == data_.size(); }
  std::string_view data() const { return data_; }

 private:
  template <typename T>
  absl::Status ReadPod(T* v) {
    if (remaining() < sizeof(T)) [[unlikely]] return Truncated(sizeof(T));
    std::memcpy(v, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return absl::OkStatus();
  }
  absl::Status Truncated(size_t needed) const;

  std::string_view data_;
  size_t pos_ = 0;
};

// A fast, stable (unseeded) 64-bit checksum over bytes, used to detect corruption of snapshot
// blocks. Not cryptographic.
uint64_t Checksum64(std::string_view bytes);

// Serializer<T>: specialise for your own types (see the file comment).
template <typename T>
struct Serializer;

template <typename T>
concept Serializable = requires(const T& v, T* out, ByteWriter& w, ByteReader& r) {
  Serializer<T>::Write(v, w);
  { Serializer<T>::Read(r, out) } -> std::same_as<absl::Status>;
};

template <>
struct Serializer<int64_t> {
  static void Write(const int64_t& v, ByteWriter& w) { w.WriteI64(v); }
  static absl::Status Read(ByteReader& r, int64_t* v) { return r.ReadI64(v); }
};
template <>
struct Serializer<int32_t> {
  static void Write(const int32_t& v, ByteWriter& w) { w.WriteI32(v); }
  static absl::Status Read(ByteReader& r, int32_t* v) { return r.ReadI32(v); }
};
template <>
struct Serializer<uint64_t> {
  static void Write(const uint64_t& v, ByteWriter& w) { w.WriteFixed64(v); }
  static absl::Status Read(ByteReader& r, uint64_t* v) { return r.ReadFixed64(v); }
};
template <>
struct Serializer<double> {
  static void Write(const double& v, ByteWriter& w) { w.WriteDouble(v); }
  static absl::Status Read(ByteReader& r, double* v) { return r.ReadDouble(v); }
};
template <>
struct Serializer<bool> {
  static void Write(const bool& v, ByteWriter& w) { w.WriteU8(v ? 1 : 0); }
  static absl::Status Read(ByteReader& r, bool* v) {
    uint8_t b = 0;
    RETURN_IF_ERROR(r.ReadU8(&b));
    if (b > 1) return DataLossF("bool: expected 0 or 1, found {} at offset {}", b, r.position() - 1);
    *v = b == 1;
    return absl::OkStatus();
  }
};
template <>
struct Serializer<std::string> {
  static void Write(const std::string& v, ByteWriter& w) { w.WriteString(v); }
  static absl::Status Read(ByteReader& r, std::string* v) { return r.ReadString(v); }
};

// Varint count followed by the elements.
template <Serializable T>
struct Serializer<std::vector<T>> {
  static void Write(const std::vector<T>& v, ByteWriter& w) {
    w.WriteVarint64(v.size());
    for (const T& e : v) Serializer<T>::Write(e, w);
  }
  static absl::Status Read(ByteReader& r, std::vector<T>* v) {
    uint64_t n = 0;
    // Every element takes at least one byte... except empty types; bound by remaining anyway
    // so that a corrupt count cannot make us allocate terabytes.
    RETURN_IF_ERROR(r.ReadLength(&n, r.remaining()));
    v->clear();
    v->resize(n);
    for (uint64_t i = 0; i < n; ++i) RETURN_IF_ERROR(Serializer<T>::Read(r, &(*v)[i]));
    return absl::OkStatus();
  }
};

// Varint count followed by (key, value) pairs, in the map's iteration order.
template <Serializable K, Serializable V>
struct Serializer<absl::flat_hash_map<K, V>> {
  static void Write(const absl::flat_hash_map<K, V>& m, ByteWriter& w) {
    w.WriteVarint64(m.size());
    for (const auto& [k, v] : m) {
      Serializer<K>::Write(k, w);
      Serializer<V>::Write(v, w);
    }
  }
  static absl::Status Read(ByteReader& r, absl::flat_hash_map<K, V>* m) {
    uint64_t n = 0;
    RETURN_IF_ERROR(r.ReadLength(&n, r.remaining()));
    m->clear();
    m->reserve(n);
    for (uint64_t i = 0; i < n; ++i) {
      K k{};
      V v{};
      RETURN_IF_ERROR(Serializer<K>::Read(r, &k));
      RETURN_IF_ERROR(Serializer<V>::Read(r, &v));
      m->insert_or_assign(std::move(k), std::move(v));
    }
    return absl::OkStatus();
  }
};

}  // namespace sluice::state
