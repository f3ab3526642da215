#include "runtime/connectors/file/file_lookup_table.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "runtime/base/status.h"
#include "runtime/connectors/file/line_reader.h"
#include "runtime/formats/csv_fields.h"

namespace sluice::connectors {
namespace {

class FileLookupTable final : public operators::LookupTableSource {
 public:
  explicit FileLookupTable(FileLookupTableOptions o) : o_(std::move(o)) {}

  core::SchemaPtr schema() const override { return o_.schema; }
  std::string Describe() const override { return fmt::format("file '{}'", o_.path); }

  absl::StatusOr<std::optional<core::RecordBatch>> LoadIfChanged() override {
    struct stat st {};
    if (::stat(o_.path.c_str(), &st) != 0) {
      return NotFoundF("lookup table: cannot read '{}': {}", o_.path, std::strerror(errno));
    }
    const int64_t mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
    if (loaded_ && st.st_size == size_ && mtime_ns == mtime_ns_) return std::nullopt;
    ASSIGN_OR_RETURN(core::RecordBatch rows, Read());
    loaded_ = true;
    size_ = st.st_size;
    mtime_ns_ = mtime_ns;
    return rows;
  }

 private:
  absl::StatusOr<core::RecordBatch> Read() const {
    LineReader reader;
    RETURN_IF_ERROR(reader.Open(o_.path, EndsWith(o_.path, ".gz"), 0));
    std::string_view line;
    int64_t offset = 0;
    std::vector<formats::csv::RawField> fields;
    std::string scratch, reason;
    bool got = false;
    if (!o_.header) {
      std::vector<size_t> columns;
      for (size_t c = 0; c < o_.schema->num_fields(); ++c) columns.push_back(c);
      return ReadRows(reader, columns, columns.size(), 1);
    }
    ASSIGN_OR_RETURN(got, reader.Next(&line, &offset));
    if (!got) return InvalidArgumentF("lookup table '{}': the file is empty (no header)", o_.path);
    if (!formats::csv::SplitFields(line, o_.delimiter, &fields, &reason)) {
      return InvalidArgumentF("lookup table '{}' line 1 (header): {}", o_.path, reason);
    }
    std::vector<std::string> header;
    for (const auto& f : fields) {
      header.emplace_back(formats::csv::Trim(formats::csv::Unescape(f, &scratch)));
    }
    std::vector<size_t> columns;
    for (const core::Field& want : o_.schema->fields()) {
      size_t c = 0;
      while (c < header.size() && header[c] != want.name) ++c;
      if (c == header.size()) {
        return InvalidArgumentF("lookup table '{}': no column '{}' in the header (columns: {})",
                                o_.path, want.name, fmt::join(header, ", "));
      }
      columns.push_back(c);
    }
    return ReadRows(reader, columns, header.size(), 2);
  }

  // The data lines from `first_line` on, projected onto `columns` of `width` fields.
  absl::StatusOr<core::RecordBatch> ReadRows(LineReader& reader, const std::vector<size_t>& columns,
                                             size_t width, int64_t first_line) const {
    std::vector<formats::csv::RawField> fields;
    std::string scratch, reason;
    std::string_view line;
    int64_t offset = 0;
    core::RecordBatch rows(o_.schema);
    for (int64_t line_no = first_line;; ++line_no) {
      ASSIGN_OR_RETURN(bool got, reader.Next(&line, &offset));
      if (!got) break;
      if (line.empty()) continue;
      if (!formats::csv::AppendCsvRowProjected(line, o_.delimiter, columns, width, &rows,
                                               &fields, &scratch, &reason)) {
        return InvalidArgumentF("lookup table '{}' line {}: {}", o_.path, line_no, reason);
      }
    }
    return rows;
  }

  const FileLookupTableOptions o_;
  bool loaded_ = false;
  int64_t size_ = 0;
  int64_t mtime_ns_ = 0;
};

}  // namespace

std::unique_ptr<operators::LookupTableSource> MakeFileLookupTable(FileLookupTableOptions options) {
  return std::make_unique<FileLookupTable>(std::move(options));
}

}  // namespace sluice::connectors
