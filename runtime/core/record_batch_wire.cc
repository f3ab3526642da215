// RecordBatch wire format v2 (layout in record_batch.h): the column buffers are written as they
// lie in memory, so encoding is one memcpy per buffer and decoding validates sizes and string
// offsets before anything is read through them.
#include <bit>

#include "absl/strings/str_format.h"
#include "runtime/core/record_batch.h"

namespace sluice::core {

static_assert(std::endian::native == std::endian::little,
              "the batch wire format is little-endian and sent as it lies in memory");

namespace {

constexpr char kMagic[4] = {'S', 'L', 'B', '\x02'};
constexpr uint16_t kVersion = 2;
constexpr size_t kHeaderBytes = 16;
constexpr size_t kColumnHeaderBytes = 12;
constexpr uint16_t kFlagKeyGroups = 1;
constexpr uint16_t kFlagRowKinds = 2;  // key group tag and column follow the timestamps

template <typename T>
void Put(std::string* out, T v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(T));
}
template <typename T>
T Get(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

struct ColumnHeader {
  uint8_t type;
  bool has_validity;
  uint32_t values_bytes;
  uint32_t data_bytes;
};

}  // namespace

void RecordBatch::SerializeTo(std::string* out) const {
  if (has_selection_) {
    RecordBatch compact(schema_);
    compact.AssignFrom(*this);
    compact.SerializeTo(out);
    return;
  }
  const size_t rows = num_rows();
  const uint64_t tag = key_group_tag();
  out->clear();
  const bool kinds = !kinds_.empty();
  out->reserve(kHeaderBytes + columns_.size() * kColumnHeaderBytes + ByteSize() +
               (tag != 0 ? 8 + rows * 2 : 0) + (kinds ? rows : 0));
  out->append(kMagic, 4);
  Put<uint16_t>(out, kVersion);
  Put<uint16_t>(out, static_cast<uint16_t>((tag != 0 ? kFlagKeyGroups : 0) |
                                           (kinds ? kFlagRowKinds : 0)));
  Put<uint32_t>(out, static_cast<uint32_t>(rows));
  Put<uint32_t>(out, static_cast<uint32_t>(columns_.size()));
  const size_t validity_bytes = (rows + 7) / 8;
  for (const Column& c : columns_) {
    Put<uint8_t>(out, static_cast<uint8_t>(c.type()));
    Put<uint8_t>(out, c.null_count() != 0);
    Put<uint16_t>(out, 0);
    Put<uint32_t>(out, static_cast<uint32_t>(Column::ValuesBytes(c.type(), rows)));
    Put<uint32_t>(out, static_cast<uint32_t>(c.data_buffer().size()));
  }
  out->append(reinterpret_cast<const char*>(timestamps_.data()), rows * 8);
  if (tag != 0) {
    Put<uint64_t>(out, tag);
    out->append(reinterpret_cast<const char*>(key_groups_.data()), rows * 2);
  }
  if (kinds) out->append(reinterpret_cast<const char*>(kinds_.data()), rows);
  for (const Column& c : columns_) {
    if (c.null_count() != 0) {
      out->append(reinterpret_cast<const char*>(c.validity_buffer().data()), validity_bytes);
    }
    out->append(reinterpret_cast<const char*>(c.values_buffer().data()),
                Column::ValuesBytes(c.type(), rows));
    out->append(reinterpret_cast<const char*>(c.data_buffer().data()), c.data_buffer().size());
  }
}

absl::Status RecordBatch::DeserializeFrom(std::string_view bytes) {
  Clear();
  if (bytes.size() < kHeaderBytes) {
    return absl::DataLossError(
        absl::StrFormat("record batch of %d bytes is shorter than its %d-byte header",
                        bytes.size(), kHeaderBytes));
  }
  if (std::memcmp(bytes.data(), kMagic, 3) != 0) {
    return absl::DataLossError("record batch does not start with the magic 'SLB'");
  }
  const uint16_t version = Get<uint16_t>(bytes.data() + 4);
  if (bytes[3] != kMagic[3] || version != kVersion) {
    return absl::DataLossError(absl::StrFormat(
        "record batch has wire format version %d, this build reads version %d", version,
        kVersion));
  }
  const uint16_t flags = Get<uint16_t>(bytes.data() + 6);
  if ((flags & ~(kFlagKeyGroups | kFlagRowKinds)) != 0) {
    return absl::DataLossError(absl::StrFormat("record batch has unknown flags 0x%x", flags));
  }
  const bool has_key_groups = (flags & kFlagKeyGroups) != 0;
  const bool has_kinds = (flags & kFlagRowKinds) != 0;
  const size_t rows = Get<uint32_t>(bytes.data() + 8);
  const size_t cols = Get<uint32_t>(bytes.data() + 12);
  if (cols != num_fields()) {
    return absl::DataLossError(absl::StrFormat(
        "record batch has %d columns, schema (%s) has %d", cols, schema_->ToString(),
        num_fields()));
  }
  if (bytes.size() < kHeaderBytes + cols * kColumnHeaderBytes) {
    return absl::DataLossError("record batch is truncated inside its column headers");
  }
  std::vector<ColumnHeader> headers(cols);
  const size_t key_group_bytes = has_key_groups ? 8 + rows * 2 : 0;
  const size_t kind_bytes = has_kinds ? rows : 0;
  size_t need = kHeaderBytes + cols * kColumnHeaderBytes + rows * 8 + key_group_bytes + kind_bytes;
  const size_t validity_bytes = (rows + 7) / 8;
  for (size_t c = 0; c < cols; ++c) {
    const char* h = bytes.data() + kHeaderBytes + c * kColumnHeaderBytes;
    ColumnHeader& ch = headers[c];
    ch.type = static_cast<uint8_t>(h[0]);
    ch.has_validity = h[1] != 0;
    ch.values_bytes = Get<uint32_t>(h + 4);
    ch.data_bytes = Get<uint32_t>(h + 8);
    const Field& f = schema_->field(c);
    if (ch.type != static_cast<uint8_t>(f.type)) {
      return absl::DataLossError(absl::StrFormat(
          "record batch column %d ('%s') has type code %d, the schema says %s", c, f.name,
          ch.type, TypeName(f.type)));
    }
    if (ch.values_bytes != Column::ValuesBytes(f.type, rows) ||
        (!core::IsVariableWidth(f.type) && ch.data_bytes != 0)) {
      return absl::DataLossError(absl::StrFormat(
          "record batch column %d ('%s') has %d value bytes for %d rows of %s", c, f.name,
          ch.values_bytes, rows, TypeName(f.type)));
    }
    need += (ch.has_validity ? validity_bytes : 0) + ch.values_bytes + ch.data_bytes;
  }
  if (bytes.size() != need) {
    return absl::DataLossError(absl::StrFormat(
        "record batch is %d bytes, its header says %d", bytes.size(), need));
  }
  const char* p = bytes.data() + kHeaderBytes + cols * kColumnHeaderBytes;
  const char* ts = p;
  p += rows * 8;
  const char* kg = p;
  p += key_group_bytes;
  const char* kinds = p;
  p += kind_bytes;
  for (size_t r = 0; r < kind_bytes; ++r) {
    if (static_cast<uint8_t>(kinds[r]) > kMaxRowKindValue) {
      return absl::DataLossError(absl::StrFormat("record batch row %d has row kind %d (expected "
                                                 "0..%d)", r, static_cast<uint8_t>(kinds[r]),
                                                 kMaxRowKindValue));
    }
  }
  for (size_t c = 0; c < cols; ++c) {
    const ColumnHeader& ch = headers[c];
    std::string_view validity(p, ch.has_validity ? validity_bytes : 0);
    p += validity.size();
    std::string_view values(p, ch.values_bytes);
    p += ch.values_bytes;
    std::string_view data(p, ch.data_bytes);
    p += ch.data_bytes;
    if (core::IsVariableWidth(schema_->field(c).type)) {
      // Offsets start at 0, never decrease, and end at the data size: every value lies inside.
      int32_t prev = Get<int32_t>(values.data());
      bool ok = prev == 0;
      for (size_t r = 1; ok && r <= rows; ++r) {
        const int32_t o = Get<int32_t>(values.data() + r * 4);
        ok = o >= prev;
        prev = o;
      }
      if (!ok || static_cast<uint32_t>(prev) != ch.data_bytes) {
        Clear();
        return absl::DataLossError(absl::StrFormat(
            "record batch column %d ('%s') has string offsets outside its %d data bytes", c,
            schema_->field(c).name, ch.data_bytes));
      }
    }
    columns_[c].AssignBuffers(rows, validity, values, data);
  }
  timestamps_.resize(rows);
  std::memcpy(timestamps_.data(), ts, rows * 8);
  if (has_kinds) kinds_.assign(kinds, kinds + rows);
  if (has_key_groups) {
    key_groups_.resize(rows);
    std::memcpy(key_groups_.data(), kg + 8, rows * 2);
    key_group_tag_ = Get<uint64_t>(kg);
  }
  return absl::OkStatus();
}

}  // namespace sluice::core
