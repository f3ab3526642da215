#include "runtime/operators/window_aggregates.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <utility>

#include "runtime/base/status.h"

namespace sluice::operators {

using core::RecordBatch;
using core::Type;

namespace {

constexpr std::pair<std::string_view, AggregateKind> kNames[] = {
    {"count", AggregateKind::kCount},           {"sum", AggregateKind::kSum},
    {"min", AggregateKind::kMin},               {"max", AggregateKind::kMax},
    {"avg", AggregateKind::kAvg},               {"first", AggregateKind::kFirst},
    {"last", AggregateKind::kLast},             {"stddev_pop", AggregateKind::kStddevPop},
    {"stddev_samp", AggregateKind::kStddevSamp}, {"var_pop", AggregateKind::kVarPop},
    {"var_samp", AggregateKind::kVarSamp},     {"count_distinct", AggregateKind::kCountDistinct},
    {"collect_list", AggregateKind::kCollectList},
};

bool HasValues(AggregateKind k) {
  return k == AggregateKind::kCountDistinct || k == AggregateKind::kCollectList;
}

bool IsDeviation(AggregateKind k) {
  return k == AggregateKind::kStddevPop || k == AggregateKind::kStddevSamp ||
         k == AggregateKind::kVarPop || k == AggregateKind::kVarSamp;
}

}  // namespace

std::string_view AggregateKindName(AggregateKind kind) {
  for (const auto& [name, k] : kNames) {
    if (k == kind) return name;
  }
  return "unknown";
}

std::optional<AggregateKind> ParseAggregateKind(std::string_view name) {
  if (name == "average" || name == "mean") return AggregateKind::kAvg;
  if (name == "stddev") return AggregateKind::kStddevSamp;
  if (name == "variance") return AggregateKind::kVarSamp;
  if (name == "listagg") return AggregateKind::kCollectList;
  for (const auto& [n, k] : kNames) {
    if (n == name) return k;
  }
  return std::nullopt;
}

std::string AggregateKindNames() {
  std::string s;
  for (const auto& [name, k] : kNames) {
    if (!s.empty()) s += ", ";
    s += name;
  }
  return s;
}

absl::StatusOr<WindowAggregates> WindowAggregates::Resolve(
    const core::Schema& input, const std::vector<AggregateSpec>& specs,
    std::vector<core::Field>* out_fields) {
  std::vector<Resolved> aggs;
  size_t slot = 0, lists = 0;
  for (const AggregateSpec& a : specs) {
    const std::string_view kind_name = AggregateKindName(a.kind);
    const int col = a.field.empty() ? -1 : input.FindField(a.field);
    if (a.kind == AggregateKind::kCount) {
      // count(): the rows; count(f): the rows whose f is not null (SQL's COUNT(f)).
      if (!a.field.empty() && col < 0) {
        return InvalidArgumentF("aggregate '{}': unknown field '{}' (fields: {})", a.output_name,
                                a.field, input.FieldNames());
      }
      aggs.push_back({a.kind, col, col < 0 ? Type::kInt64 : input.field(col).type, slot++, 0});
      out_fields->push_back({a.output_name, Type::kInt64});
      continue;
    }
    if (col < 0) {
      return InvalidArgumentF("aggregate '{}': unknown field '{}' (fields: {})", a.output_name,
                              a.field, input.FieldNames());
    }
    const Type t = input.field(col).type;
    Type out_type = t;
    if (HasValues(a.kind)) {  // any input type
      aggs.push_back({a.kind, col, t, slot++, lists++});
      out_fields->push_back(
          {a.output_name, a.kind == AggregateKind::kCountDistinct ? Type::kInt64 : Type::kString});
      continue;
    }
    if ((a.kind == AggregateKind::kMin || a.kind == AggregateKind::kMax) && t == Type::kString) {
      // The smallest / largest string (bytewise), kept in a one-element value list.
      aggs.push_back({a.kind, col, t, slot++, lists++});
      out_fields->push_back({a.output_name, Type::kString});
      continue;
    }
    if (a.kind == AggregateKind::kSum || a.kind == AggregateKind::kAvg || IsDeviation(a.kind)) {
      if (!core::IsNumeric(t)) {
        return InvalidArgumentF("aggregate '{}': {} needs an int64 or double field, '{}' is {}",
                                a.output_name, kind_name, a.field, core::TypeName(t));
      }
      if (a.kind != AggregateKind::kSum) out_type = Type::kDouble;
    } else if (t != Type::kInt64 && t != Type::kDouble && t != Type::kTimestamp) {
      return InvalidArgumentF(
          "aggregate '{}': {} needs an int64, double or timestamp field, '{}' is {}", a.output_name,
          kind_name, a.field, core::TypeName(t));
    }
    aggs.push_back({a.kind, col, t, slot, 0});
    slot += IsDeviation(a.kind) ? 2 : 1;
    out_fields->push_back({a.output_name, out_type});
  }
  return WindowAggregates(std::move(aggs), slot, lists);
}

WindowContents WindowAggregates::Fresh() const {
  WindowContents w;
  w.accs.resize(num_slots_);
  for (Accumulator& a : w.accs) a.i64 = 0;
  w.valid.assign(num_slots_, 0);
  w.values.resize(num_lists_);
  return w;
}

void WindowAggregates::Accumulate(WindowContents& w, const RecordBatch& batch, size_t row) const {
  ++w.count;
  Accumulator* acc = w.accs.data();
  for (const Resolved& a : aggs_) {
    if (a.input_col >= 0 && batch.IsNull(row, static_cast<size_t>(a.input_col))) continue;
    const size_t i = a.slot;
    const bool first = w.valid[i] == 0;
    ++w.valid[i];
    const bool dbl = a.input_type == Type::kDouble;
    switch (a.kind) {
      case AggregateKind::kCount:
        break;
      case AggregateKind::kCountDistinct:
      case AggregateKind::kCollectList: {
        std::vector<std::string>& list = w.values[a.list];
        std::string text;
        core::AppendCsvValue(batch, row, static_cast<size_t>(a.input_col), &text);
        if (a.kind == AggregateKind::kCollectList) {
          list.push_back(std::move(text));
        } else if (auto it = std::lower_bound(list.begin(), list.end(), text);
                   it == list.end() || *it != text) {
          list.insert(it, std::move(text));
        }
        break;
      }
      case AggregateKind::kSum:
      case AggregateKind::kAvg:
        if (dbl) {
          acc[i].f64 += batch.GetDouble(row, a.input_col);
        } else {  // wrap like Java's long
          acc[i].i64 =
              static_cast<int64_t>(static_cast<uint64_t>(acc[i].i64) +
                                   static_cast<uint64_t>(batch.GetInt64(row, a.input_col)));
        }
        break;
      case AggregateKind::kMin:
      case AggregateKind::kMax: {
        const bool min = a.kind == AggregateKind::kMin;
        if (a.input_type == Type::kString) {
          std::vector<std::string>& kept = w.values[a.list];
          const std::string_view v = batch.GetString(row, a.input_col);
          if (kept.empty()) kept.emplace_back(v);
          else if (min ? v < kept[0] : v > kept[0]) kept[0].assign(v);
          break;
        }
        if (dbl) {
          const double v = batch.GetDouble(row, a.input_col);
          if (first || (min ? v < acc[i].f64 : v > acc[i].f64)) acc[i].f64 = v;
        } else {
          const int64_t v = batch.GetInt64(row, a.input_col);
          if (first || (min ? v < acc[i].i64 : v > acc[i].i64)) acc[i].i64 = v;
        }
        break;
      }
      case AggregateKind::kFirst:
      case AggregateKind::kLast:
        if (first || a.kind == AggregateKind::kLast) {
          if (dbl) acc[i].f64 = batch.GetDouble(row, a.input_col);
          else acc[i].i64 = batch.GetInt64(row, a.input_col);
        }
        break;
      case AggregateKind::kStddevPop:
      case AggregateKind::kStddevSamp:
      case AggregateKind::kVarPop:
      case AggregateKind::kVarSamp: {
        // Welford: slot i is the mean, slot i + 1 the sum of squared deviations (M2).
        const double x = dbl ? batch.GetDouble(row, a.input_col)
                             : static_cast<double>(batch.GetInt64(row, a.input_col));
        w.valid[i + 1] = w.valid[i];
        const double delta = x - acc[i].f64;
        acc[i].f64 += delta / static_cast<double>(w.valid[i]);
        acc[i + 1].f64 += delta * (x - acc[i].f64);
        break;
      }
    }
  }
}

void WindowAggregates::Retract(WindowContents& w, const RecordBatch& batch, size_t row) const {
  --w.count;
  Accumulator* acc = w.accs.data();
  for (const Resolved& a : aggs_) {
    if (a.input_col >= 0 && batch.IsNull(row, static_cast<size_t>(a.input_col))) continue;
    const size_t i = a.slot;
    --w.valid[i];
    if (a.kind == AggregateKind::kCount) continue;
    if (a.input_type == Type::kDouble) {
      acc[i].f64 -= batch.GetDouble(row, a.input_col);
    } else {  // wrap like Java's long
      acc[i].i64 = static_cast<int64_t>(static_cast<uint64_t>(acc[i].i64) -
                                        static_cast<uint64_t>(batch.GetInt64(row, a.input_col)));
    }
  }
}

std::optional<std::string_view> WindowAggregates::NotRetractable() const {
  for (const Resolved& a : aggs_) {
    if (a.kind != AggregateKind::kCount && a.kind != AggregateKind::kSum &&
        a.kind != AggregateKind::kAvg) {
      return AggregateKindName(a.kind);
    }
  }
  return std::nullopt;
}

void WindowAggregates::Merge(WindowContents& into, const WindowContents& later) const {
  into.count += later.count;
  Accumulator* acc = into.accs.data();
  const Accumulator* b = later.accs.data();
  for (const Resolved& a : aggs_) {
    const size_t i = a.slot;
    const int64_t nb = later.valid[i];
    if (nb == 0) continue;
    const int64_t na = into.valid[i];
    into.valid[i] = na + nb;
    if (na == 0 && a.kind != AggregateKind::kCount && !HasValues(a.kind) &&
        a.input_type != Type::kString) {  // take later's
      acc[i] = b[i];
      if (IsDeviation(a.kind)) {
        acc[i + 1] = b[i + 1];
        into.valid[i + 1] = nb;
      }
      continue;
    }
    const bool dbl = a.input_type == Type::kDouble;
    switch (a.kind) {
      case AggregateKind::kCount:
      case AggregateKind::kFirst:
        break;
      case AggregateKind::kCountDistinct: {
        std::vector<std::string> merged;
        std::set_union(into.values[a.list].begin(), into.values[a.list].end(),
                       later.values[a.list].begin(), later.values[a.list].end(),
                       std::back_inserter(merged));
        into.values[a.list] = std::move(merged);
        break;
      }
      case AggregateKind::kCollectList:
        into.values[a.list].insert(into.values[a.list].end(), later.values[a.list].begin(),
                                   later.values[a.list].end());
        break;
      case AggregateKind::kLast:
        acc[i] = b[i];
        break;
      case AggregateKind::kSum:
      case AggregateKind::kAvg:
        if (dbl) {
          acc[i].f64 += b[i].f64;
        } else {  // wrap like Java's long
          acc[i].i64 = static_cast<int64_t>(static_cast<uint64_t>(acc[i].i64) +
                                            static_cast<uint64_t>(b[i].i64));
        }
        break;
      case AggregateKind::kMin:
      case AggregateKind::kMax: {
        const bool min = a.kind == AggregateKind::kMin;
        if (a.input_type == Type::kString) {
          std::vector<std::string>& kept = into.values[a.list];
          const std::vector<std::string>& other = later.values[a.list];
          if (kept.empty()) kept = other;
          else if (!other.empty() && (min ? other[0] < kept[0] : other[0] > kept[0])) kept = other;
          break;
        }
        if (dbl) {
          if (min ? b[i].f64 < acc[i].f64 : b[i].f64 > acc[i].f64) acc[i] = b[i];
        } else if (min ? b[i].i64 < acc[i].i64 : b[i].i64 > acc[i].i64) {
          acc[i] = b[i];
        }
        break;
      }
      case AggregateKind::kStddevPop:
      case AggregateKind::kStddevSamp:
      case AggregateKind::kVarPop:
      case AggregateKind::kVarSamp: {
        // Chan, Golub, LeVeque: mean = ma + d * nb / n, M2 = M2a + M2b + d^2 * na * nb / n.
        const double n = static_cast<double>(na + nb);
        const double delta = b[i].f64 - acc[i].f64;
        acc[i].f64 += delta * static_cast<double>(nb) / n;
        acc[i + 1].f64 +=
            b[i + 1].f64 + delta * delta * static_cast<double>(na) * static_cast<double>(nb) / n;
        into.valid[i + 1] = na + nb;
        break;
      }
    }
  }
}

void WindowAggregates::WriteResults(const WindowContents& w, RecordBatch* out, size_t r,
                                    size_t first_col) const {
  const Accumulator* acc = w.accs.data();
  for (size_t k = 0; k < aggs_.size(); ++k) {
    const Resolved& a = aggs_[k];
    const size_t col = first_col + k;
    const size_t i = a.slot;
    const int64_t n = w.valid[i];
    if (a.kind == AggregateKind::kCount) {
      out->SetInt64(r, col, a.input_col >= 0 ? n : w.count);
      continue;
    }
    if (a.kind == AggregateKind::kCountDistinct) {  // COUNT(DISTINCT) of nothing is 0
      out->SetInt64(r, col, static_cast<int64_t>(w.values[a.list].size()));
      continue;
    }
    const bool sample = a.kind == AggregateKind::kStddevSamp || a.kind == AggregateKind::kVarSamp;
    if (n == 0 || (sample && n < 2)) {
      out->SetNull(r, col);
      continue;
    }
    switch (a.kind) {
      case AggregateKind::kCollectList: {
        std::string joined;
        for (const std::string& v : w.values[a.list]) {
          if (!joined.empty() || &v != &w.values[a.list].front()) joined.push_back(',');
          joined += v;
        }
        out->SetString(r, col, joined);
        break;
      }
      case AggregateKind::kAvg:
        out->SetDouble(r, col,
                       (a.input_type == Type::kDouble ? acc[i].f64
                                                      : static_cast<double>(acc[i].i64)) /
                           static_cast<double>(n));
        break;
      case AggregateKind::kStddevPop:
      case AggregateKind::kStddevSamp:
      case AggregateKind::kVarPop:
      case AggregateKind::kVarSamp: {
        const double var = acc[i + 1].f64 / static_cast<double>(sample ? n - 1 : n);
        const bool stddev =
            a.kind == AggregateKind::kStddevPop || a.kind == AggregateKind::kStddevSamp;
        out->SetDouble(r, col, stddev ? std::sqrt(var) : var);
        break;
      }
      default:  // sum, min, max, first, last: the slot in the input's type
        if (a.input_type == Type::kString) out->SetString(r, col, w.values[a.list][0]);
        else if (a.input_type == Type::kDouble) out->SetDouble(r, col, acc[i].f64);
        else out->SetInt64(r, col, acc[i].i64);
        break;
    }
  }
}

}  // namespace sluice::operators
