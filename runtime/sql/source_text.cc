#include "runtime/sql/source_text.h"

#include <algorithm>

#include "absl/strings/cord.h"
#include "fmt/format.h"

namespace sluice::sql {

SourceText::SourceText(std::string name, std::string text)
    : name_(std::move(name)), text_(std::move(text)) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < text_.size(); ++i) {
    if (text_[i] == '\n') line_starts_.push_back(static_cast<int>(i + 1));
  }
}

int SourceText::Line(int offset) const {
  offset = std::clamp(offset, 0, static_cast<int>(text_.size()));
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  return static_cast<int>(it - line_starts_.begin());
}

int SourceText::Column(int offset) const {
  offset = std::clamp(offset, 0, static_cast<int>(text_.size()));
  int start = line_starts_[static_cast<size_t>(Line(offset) - 1)];
  int column = 1;
  for (int i = start; i < offset; ++i) {
    // Count code points: skip UTF-8 continuation bytes.
    if ((static_cast<unsigned char>(text_[static_cast<size_t>(i)]) & 0xC0) != 0x80) ++column;
  }
  return column;
}

std::string SourceText::Format(int offset, std::string_view message) const {
  return fmt::format("{}:{}:{}: {}", name_, Line(offset), Column(offset), message);
}

std::string SourceText::Format(const absl::Status& status) const {
  const std::string_view message(status.message().data(), status.message().size());
  std::optional<int> offset = SqlErrorOffset(status);
  if (!offset) return fmt::format("{}: {}", name_, message);
  return Format(*offset, message);
}

namespace {
constexpr char kOffsetPayload[] = "type.sluice/sql.offset";
}  // namespace

absl::Status SqlError(int offset, std::string_view message) {
  absl::Status s(absl::StatusCode::kInvalidArgument,
                 absl::string_view(message.data(), message.size()));
  s.SetPayload(kOffsetPayload, absl::Cord(std::to_string(offset)));
  return s;
}

std::optional<int> SqlErrorOffset(const absl::Status& status) {
  auto p = status.GetPayload(kOffsetPayload);
  if (!p) return std::nullopt;
  return std::stoi(std::string(*p));
}

}  // namespace sluice::sql
