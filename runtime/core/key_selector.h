#pragma once
// KeySelector: Flink's KeySelector for field keys (`key_by(a, b)`). Picks key fields out of a
// row, hashes them as Flink hashes the equivalent Java key (so a key lands in the same key group
// as in Flink), and encodes them as compact bytes for keyed state maps.
//
// Hash: a single field hashes as the Java hashCode() of its value (String.hashCode,
// Long.hashCode for int64 and timestamp, Double.hashCode, Boolean.hashCode); several fields hash
// as Flink's Tuple: h = 0; h = 31*h + field_hash.
//
// Int32 and date hash as Integer.hashCode (Flink's DATE is an int of days), bytes as
// Arrays.hashCode(byte[]); a null field hashes as 0 (as a null field of Flink's Tuple).
//
// Key bytes: per field in key order; int64/timestamp/double: 8 bytes (native byte order, bit
// pattern), int32/date: 4 bytes, bool: 1 byte, string/bytes: u32 length + bytes. A null field
// is written as zeros of its width (a zero length for string/bytes), and a key with any null
// field ends with a trailer of (fields+7)/8 bytes, bit i set <=> field i is null. Keys without
// nulls have no trailer, so their bytes are those of releases before nulls existed (state in
// older savepoints keeps its keys). Equal keys <=> equal bytes. The encoding is for keyed state
// only; it is not a wire format.
//
// Lifecycle/thread: immutable after Create(); thread-safe, cheap to copy.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/core/record_batch.h"
#include "runtime/core/types.h"

namespace sluice::core {

class KeySelector {
 public:
  // Resolves `fields` against `schema`. InvalidArgument "unknown key field 'x' (fields: a, b)"
  // for a name not in the schema, "key_by needs at least one field" for an empty list.
  static absl::StatusOr<KeySelector> Create(const Schema& schema,
                                            const std::vector<std::string>& fields);

  // Column indexes of the key fields in the input schema, in key order.
  const std::vector<int>& columns() const { return columns_; }

  // Flink-compatible key hash of row `row` (see file comment).
  int32_t HashCode(const RecordBatch& batch, size_t row) const;
  // Key group of row `row`: ComputeKeyGroupForKeyHash(HashCode(), max_parallelism).
  int32_t KeyGroup(const RecordBatch& batch, size_t row, int32_t max_parallelism) const;

  // Identifies this key (its columns and types) with `max_parallelism`: the tag under which a
  // partitioner attaches key groups to a batch (RecordBatch::AppendKeyGroups), so a keyed
  // operator of the same key reads batch.key_group(row) when batch.key_group_tag() equals it
  // (checked once per batch) instead of hashing again. Never 0.
  uint64_t KeyGroupTag(int32_t max_parallelism) const;
  // Appends the key bytes of row `row` to *out (does not clear it).
  void AppendKeyBytes(const RecordBatch& batch, size_t row, std::string* out) const;
  // Decodes `key_bytes` (as produced by AppendKeyBytes) into fields first_out_col,
  // first_out_col+1, ... of row `out_row` of `out`, in key-field order. The output fields must
  // have the key fields' types. `key_bytes` must be well-formed (checked).
  void DecodeKeyInto(std::string_view key_bytes, RecordBatch* out, size_t out_row,
                     size_t first_out_col) const;

  // The key fields (names and types) in key order, for building output schemas.
  std::vector<Field> key_fields() const;

 private:
  KeySelector(std::vector<int> columns, std::vector<Field> fields)
      : columns_(std::move(columns)), fields_(std::move(fields)) {}

  std::vector<int> columns_;
  std::vector<Field> fields_;
};

}  // namespace sluice::core
