// The CSV lookup table: columns picked by header name, read again only when the file changed
// (size or modification time), errors naming file, line and column.

#include "runtime/connectors/file/file_lookup_table.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace sluice::connectors {
namespace {

using core::Field;
using core::Type;

class FileLookupTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) / "sluice-lookup-table";
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "airports.csv").string();
  }
  void Write(const std::string& text) {
    // Write then rename, as the docs ask of writers.
    std::ofstream((path_ + ".tmp").c_str()) << text;
    std::filesystem::rename(path_ + ".tmp", path_);
  }
  std::unique_ptr<operators::LookupTableSource> Table() {
    return MakeFileLookupTable(
        {path_, std::make_shared<const core::Schema>(std::vector<Field>{
                    {"state", Type::kString}, {"iata", Type::kString}, {"lat", Type::kDouble}})});
  }

  std::filesystem::path dir_;
  std::string path_;
};

// header: false (Flink's CSV tables have none): the file's columns are the schema's, in order,
// and the first line is data.
TEST_F(FileLookupTableTest, WithoutAHeaderTheColumnsAreTheSchemasInOrder) {
  Write("GA,ATL,33.6\nIL,ORD,41.9\n");
  FileLookupTableOptions o{path_, std::make_shared<const core::Schema>(std::vector<Field>{
                                      {"state", Type::kString}, {"iata", Type::kString},
                                      {"lat", Type::kDouble}})};
  o.header = false;
  auto rows = MakeFileLookupTable(o)->LoadIfChanged();
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_TRUE(rows->has_value());
  ASSERT_EQ((*rows)->num_rows(), 2u);
  EXPECT_EQ((*rows)->RowToString(0), "GA,ATL,33.6");
  EXPECT_EQ((*rows)->RowToString(1), "IL,ORD,41.9");
  Write("GA,ATL\n");  // too few fields
  auto bad = MakeFileLookupTable(o)->LoadIfChanged();
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("line 1"), std::string::npos) << bad.status();
}

TEST_F(FileLookupTableTest, PicksColumnsByHeaderNameAndRereadsOnlyAChangedFile) {
  Write("iata,name,state,lat\nATL,\"Hartsfield, Atlanta\",GA,33.6\nORD,O'Hare,IL,\n\n");
  auto t = Table();
  auto rows = t->LoadIfChanged();
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_TRUE(rows->has_value());
  ASSERT_EQ((*rows)->num_rows(), 2u);
  EXPECT_EQ((*rows)->RowToString(0), "GA,ATL,33.6");
  EXPECT_EQ((*rows)->RowToString(1), "IL,ORD,");

  auto again = t->LoadIfChanged();
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value()) << "unchanged file: not read";

  Write("iata,name,state,lat\nATL,Atlanta,Georgia,33.6\n");
  again = t->LoadIfChanged();
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->RowToString(0), "Georgia,ATL,33.6");
}

TEST_F(FileLookupTableTest, ErrorsNameFileLineAndColumn) {
  Write("iata,name\nATL,x\n");
  EXPECT_EQ(Table()->LoadIfChanged().status().message(),
            "lookup table '" + path_ + "': no column 'state' in the header (columns: iata, name)");
  Write("iata,state,lat\nATL,GA,33.6\nORD,IL,north\n");
  EXPECT_EQ(Table()->LoadIfChanged().status().message(),
            "lookup table '" + path_ + "' line 3: field 'lat' (column 3): 'north' is not a valid "
            "double");
  Write("iata,state,lat\nATL,GA\n");
  EXPECT_EQ(Table()->LoadIfChanged().status().message(),
            "lookup table '" + path_ + "' line 2: expected 3 fields, found 2");
  std::filesystem::remove(path_);
  EXPECT_EQ(Table()->LoadIfChanged().status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace sluice::connectors
