#include "runtime/operators/split_operator.h"

#include <string_view>
#include <vector>

#include "runtime/base/status.h"
#include "runtime/core/record_batch.h"

namespace sluice::operators {
namespace {

class SplitOperator final : public api::Operator {
 public:
  SplitOperator(core::SchemaPtr output, size_t col, SplitSpec spec)
      : out_(output), col_(col), spec_(std::move(spec)) {}

  core::SchemaPtr output_schema() const override { return out_.schema_ptr(); }

  absl::Status ProcessBatch(const core::RecordBatch& batch, api::Output& out) override {
    const size_t n = batch.num_rows();
    if (ctx_.metrics != nullptr) ctx_.metrics->records_in.fetch_add(n, std::memory_order_relaxed);
    rows_.clear();
    parts_.clear();
    const std::string_view delim = spec_.delimiter;
    for (size_t row = 0; row < n; ++row) {
      if (batch.IsNull(row, col_)) continue;
      const std::string_view s = batch.GetString(row, col_);
      if (s.empty()) continue;
      const auto physical = static_cast<uint32_t>(batch.physical_row(row));
      size_t from = 0;
      while (true) {
        const size_t at = s.find(delim, from);
        const std::string_view part =
            s.substr(from, at == std::string_view::npos ? std::string_view::npos : at - from);
        if (!part.empty() || spec_.keep_empty) {
          rows_.push_back(physical);
          parts_.push_back(part);
        }
        if (at == std::string_view::npos) break;
        from = at + delim.size();
      }
    }
    if (rows_.empty()) return absl::OkStatus();
    out_.Clear();
    const size_t inputs = batch.num_fields();
    for (size_t c = 0; c < inputs; ++c) {
      out_.mutable_column(c).AppendSelected(batch.column(c), rows_.data(), rows_.size());
    }
    core::Column& parts = out_.mutable_column(inputs);
    for (std::string_view p : parts_) parts.AppendString(p);
    const int64_t* ts = batch.timestamps();
    for (uint32_t r : rows_) out_.AppendTimestamp(ts[r], batch.physical_row_kind(r));
    return out.Emit(out_);
  }

 private:
  core::RecordBatch out_;
  const size_t col_;
  const SplitSpec spec_;
  std::vector<uint32_t> rows_;           // physical input row of each output row
  std::vector<std::string_view> parts_;  // into the input batch
};

}  // namespace

absl::StatusOr<std::unique_ptr<api::Operator>> MakeSplit(core::SchemaPtr input, SplitSpec spec) {
  const int col = input->FindField(spec.field);
  if (col < 0) {
    return InvalidArgumentF("split: unknown field '{}' (fields: {})", spec.field,
                            input->HeaderLine());
  }
  const core::Type t = input->field(static_cast<size_t>(col)).type;
  if (t != core::Type::kString) {
    return InvalidArgumentF("split: field '{}' is {}, expected string", spec.field,
                            core::TypeName(t));
  }
  if (spec.delimiter.empty()) return InvalidArgumentF("split: the delimiter must not be empty");
  if (spec.as.empty() || input->FindField(spec.as) >= 0) {
    return InvalidArgumentF("split: 'as' must name a new field, '{}' {}", spec.as,
                            spec.as.empty() ? "is empty" : "is an input field");
  }
  std::vector<core::Field> fields = input->fields();
  fields.push_back({spec.as, core::Type::kString});
  auto output = std::make_shared<const core::Schema>(std::move(fields));
  return std::unique_ptr<api::Operator>(
      new SplitOperator(std::move(output), static_cast<size_t>(col), std::move(spec)));
}

}  // namespace sluice::operators
