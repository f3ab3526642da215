#pragma once
// The window operator's per-(key, window) state and its snapshot encoding (internal to
// runtime/operators; in its own header so that the encoding, which savepoints keep, is tested
// directly: tests/window_contents_test.cc).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "runtime/base/status.h"
#include "runtime/state/serialization.h"

namespace sluice::operators {

// Accumulator of one aggregate in one window: sum (int64 or double), min or max. count(*) is
// the window's record count; the avg divisor is the aggregate's count of non-null inputs.
union Accumulator {
  int64_t i64;
  double f64;
};
static_assert(sizeof(Accumulator) == 8);

// The window-contents state of one (key, window): its record count and one accumulator per
// aggregate, in aggregate order. Inline up to 4 aggregates: creating a window allocates no
// separate accumulator buffer (and state map slots stay small).
struct WindowContents {
  int64_t count = 0;
  absl::InlinedVector<Accumulator, 4> accs;
  // Per aggregate: inputs that were not null (SQL aggregates skip nulls); 0 = the result is null.
  absl::InlinedVector<int64_t, 4> valid;
  // Per count_distinct / collect_list aggregate, in aggregate order: its values as CSV text
  // (count_distinct: sorted and unique; collect_list: in arrival order). Empty without such
  // aggregates.
  std::vector<std::vector<std::string>> values;
};

// Flags in the high bits of the encoded accumulator count: per-aggregate valid counts follow
// (state written before nulls existed has none: every input counted), and value lists follow.
inline constexpr uint64_t kWithValidCounts = uint64_t{1} << 32;
inline constexpr uint64_t kWithValues = uint64_t{1} << 33;

}  // namespace sluice::operators

// Snapshot encoding of WindowContents: count (i64), varint (accumulator count +
// kWithValidCounts [+ kWithValues]), each accumulator's 8-byte bit pattern, then each
// aggregate's valid count (i64), then with kWithValues: varint list count, and per list varint
// size + strings. Without the kWithValidCounts flag (state of earlier releases) no valid
// counts follow and every aggregate's is the record count.
template <>
struct sluice::state::Serializer<sluice::operators::WindowContents> {
  static void Write(const sluice::operators::WindowContents& w, ByteWriter& out) {
    out.WriteI64(w.count);
    const bool with_values = !w.values.empty();
    out.WriteVarint64(w.accs.size() + sluice::operators::kWithValidCounts +
                      (with_values ? sluice::operators::kWithValues : 0));
    for (const sluice::operators::Accumulator& a : w.accs) out.WriteI64(a.i64);
    for (int64_t v : w.valid) out.WriteI64(v);
    if (with_values) Serializer<std::vector<std::vector<std::string>>>::Write(w.values, out);
  }
  static absl::Status Read(ByteReader& in, sluice::operators::WindowContents* w) {
    RETURN_IF_ERROR(in.ReadI64(&w->count));
    uint64_t n = 0;
    RETURN_IF_ERROR(in.ReadVarint64(&n));
    const bool with_valid = (n & sluice::operators::kWithValidCounts) != 0;
    const bool with_values = (n & sluice::operators::kWithValues) != 0;
    n &= sluice::operators::kWithValidCounts - 1;
    if (n > in.remaining() / (with_valid ? 16 : 8)) {
      return absl::DataLossError("window state: more aggregates than bytes");
    }
    w->accs.resize(n);
    for (uint64_t i = 0; i < n; ++i) RETURN_IF_ERROR(in.ReadI64(&w->accs[i].i64));
    w->valid.assign(n, w->count);
    if (with_valid) {
      for (uint64_t i = 0; i < n; ++i) RETURN_IF_ERROR(in.ReadI64(&w->valid[i]));
    }
    w->values.clear();
    if (with_values) {
      RETURN_IF_ERROR((Serializer<std::vector<std::vector<std::string>>>::Read(in, &w->values)));
    }
    return absl::OkStatus();
  }
};
