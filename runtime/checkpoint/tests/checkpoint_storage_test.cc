#include "runtime/checkpoint/checkpoint_storage.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "gmock/gmock.h"
#include "fmt/format.h"
#include "gtest/gtest.h"

namespace sluice::checkpoint {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kJob[] = "0123456789abcdef0123456789abcdef";

// A fresh directory per test, removed afterwards.
class CheckpointStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    root_ = fs::temp_directory_path() /
            fmt::format("sluice-chk-test-{}-{}", ::getpid(), std::to_string(rd()));
    fs::create_directories(root_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  static void WriteRaw(const fs::path& p, const std::string& bytes) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << bytes;
  }

  fs::path root_;
};

CheckpointMetadata SampleMetadata(int64_t id) {
  CheckpointMetadata m;
  m.job_id = kJob;
  m.checkpoint_id = id;
  m.timestamp_ms = 1700000000123 + id;
  m.max_parallelism = 128;
  m.vertices = {{"cbc357ccb763df2852fee8c4fc7d55f2", 1}, {"9dd63673dd41ea021b896d5203f3ba7c", 2}};
  SubtaskStateHandle source{0, 0, {}};
  source.operators.push_back(
      {"source-uid", std::string("file=a.csv\0offset=\xff\x01", 20), "", {}, 0, std::nullopt});
  m.subtasks.push_back(source);
  for (int32_t i = 0; i < 2; ++i) {
    SubtaskStateHandle s{1, i, {}};
    OperatorStateHandle op;
    op.operator_uid = "window-uid";
    op.keyed_state_file = fmt::format("keyed-1-{}-window-uid", i);
    op.key_group_offsets = {{i * 64, 37}, {i * 64 + 1, 1ull << 40}};
    op.keyed_state_size = 4096 + i;
    if (i == 1) {  // incremental RocksDB state
      IncrementalKeyedState inc;
      inc.key_group_start = 64;
      inc.key_group_end = 127;
      inc.shared_files = {{"000009.sst", "../shared/w-1-0-ab.sst", 1 << 20, 3},
                          {"000012.sst", "../shared/w-1-0-cd.sst", 77, 4}};
      inc.private_files = {{"MANIFEST-000005", "w-1-0.MANIFEST-000005", 300, 0}};
      inc.checkpointed_size = 377;
      op.incremental = inc;
    }
    s.operators.push_back(op);
    s.operators.push_back({"sink-uid", "", "", {}, 0, std::nullopt});
    m.subtasks.push_back(s);
  }
  return m;
}

TEST(Base64Test, KnownVectorsAndInvalidInput) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  EXPECT_EQ(*Base64Decode(Base64Encode(all)), all);
  EXPECT_EQ(*Base64Decode("Zm8="), "fo");
  EXPECT_EQ(Base64Decode("Zm8").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(Base64Decode("Zm!v").status().code(), absl::StatusCode::kDataLoss);
}

TEST(MetadataCodecTest, SubtaskStateHandleRoundTripsThroughAnOpaqueString) {
  SubtaskStateHandle s = SampleMetadata(1).subtasks[1];
  std::string encoded = EncodeSubtaskStateHandle(s);
  auto decoded = DecodeSubtaskStateHandle(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, s);
  auto bad = DecodeSubtaskStateHandle("{\"vertex\": 1");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kDataLoss);
  auto missing = DecodeSubtaskStateHandle(R"({"format-version": 1, "vertex": 1})");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(missing.status().message(), HasSubstr("subtask"));
}

TEST(MetadataCodecTest, CoordinatorStatesRoundTripAndAreOptional) {
  CheckpointMetadata m = SampleMetadata(3);
  const std::string without = EncodeMetadataJson(m);
  EXPECT_THAT(without, ::testing::Not(HasSubstr("coordinators")));  // older readers' format
  m.coordinator_states["kafka-in"] = std::string("KFKN\x01\0\0\0\xff", 9);
  m.coordinator_states["other"] = "";
  const std::string with = EncodeMetadataJson(m);
  auto decoded = DecodeMetadataJson(with, "test");
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, m);
  auto old = DecodeMetadataJson(without, "test");
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_TRUE(old->coordinator_states.empty());
  std::string corrupt = with;
  corrupt.replace(corrupt.find("\"kafka-in\": \"") + 14, 1, "*");
  EXPECT_EQ(DecodeMetadataJson(corrupt, "test").status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(CheckpointStorageTest, MetadataRoundTripAndFlinkLayout) {
  CheckpointStorage storage(root_.string(), kJob);
  EXPECT_EQ(storage.CheckpointDir(7), (root_ / kJob / "chk-7").string());
  auto rel = storage.WriteStateFile(7, "keyed-1-0-window-uid", std::string("\0\1\2state", 8));
  ASSERT_TRUE(rel.ok()) << rel.status();
  EXPECT_EQ(*rel, "keyed-1-0-window-uid");
  CheckpointMetadata m = SampleMetadata(7);
  ASSERT_TRUE(storage.WriteMetadata(m).ok());

  EXPECT_TRUE(fs::is_directory(root_ / kJob / "shared"));
  EXPECT_TRUE(fs::is_directory(root_ / kJob / "taskowned"));
  EXPECT_TRUE(fs::is_regular_file(root_ / kJob / "chk-7" / "_metadata"));
  EXPECT_FALSE(fs::exists(root_ / kJob / "chk-7" / "_metadata.tmp"));
  EXPECT_FALSE(fs::exists(root_ / kJob / "chk-7" / "keyed-1-0-window-uid.tmp"));

  auto from_dir = CheckpointStorage::ReadMetadata(storage.CheckpointDir(7));
  ASSERT_TRUE(from_dir.ok()) << from_dir.status();
  EXPECT_EQ(*from_dir, m);
  auto from_file = CheckpointStorage::ReadMetadata(storage.CheckpointDir(7) + "/_metadata");
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_EQ(*from_file, m);

  auto bytes = CheckpointStorage::ReadStateFile(storage.CheckpointDir(7), *rel);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, std::string("\0\1\2state", 8));

  std::ifstream in(root_ / kJob / "chk-7" / "_metadata");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, HasSubstr("\"format-version\": 2"));
}

TEST_F(CheckpointStorageTest, BadNamesAndMissingFilesAreClearErrors) {
  CheckpointStorage storage(root_.string(), kJob);
  for (const char* bad : {"", "a/b", "_metadata", "x.tmp", ".."}) {
    EXPECT_EQ(storage.WriteStateFile(1, bad, "x").status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  auto missing = CheckpointStorage::ReadStateFile(storage.CheckpointDir(1), "nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("nope"));
  CheckpointMetadata other = SampleMetadata(1);
  other.job_id = "ffffffffffffffffffffffffffffffff";
  EXPECT_EQ(storage.WriteMetadata(other).code(), absl::StatusCode::kInvalidArgument);
  auto no_dir = CheckpointStorage::ReadMetadata((root_ / "nowhere" / "chk-1").string());
  EXPECT_EQ(no_dir.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(CheckpointStorageTest, CrashMidWriteLeavesThePreviousCheckpointLatest) {
  CheckpointStorage storage(root_.string(), kJob);
  auto empty = storage.ListCompleted();
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty()) << "no job directory yet";
  EXPECT_EQ(*storage.LatestCompleted(), std::nullopt);

  for (int64_t n : {1, 2}) {
    ASSERT_TRUE(storage.WriteStateFile(n, "keyed", "state").ok());
    ASSERT_TRUE(storage.WriteMetadata(SampleMetadata(n)).ok());
  }
  // Checkpoint 3 crashed: one state file complete, one partial, metadata not yet renamed.
  ASSERT_TRUE(storage.WriteStateFile(3, "keyed-a", "state").ok());
  WriteRaw(root_ / kJob / "chk-3" / "keyed-b.tmp", "sta");
  WriteRaw(root_ / kJob / "chk-3" / "_metadata.tmp", "{\"format-version\": 1, \"job-");
  // Unrelated entries are ignored too.
  fs::create_directories(root_ / kJob / "chk-x");
  WriteRaw(root_ / kJob / "chk-9", "a file, not a directory");

  auto completed = storage.ListCompleted();
  ASSERT_TRUE(completed.ok()) << completed.status();
  EXPECT_THAT(*completed, ElementsAre(1, 2));
  auto latest = storage.LatestCompleted();
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(*latest, std::optional<int64_t>(2));
  auto m3 = CheckpointStorage::ReadMetadata(storage.CheckpointDir(3));
  EXPECT_EQ(m3.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(m3.status().message(), HasSubstr("no _metadata in"));
  EXPECT_THAT(m3.status().message(), HasSubstr("chk-3"));
  EXPECT_THAT(m3.status().message(), HasSubstr("not a completed checkpoint"));
  auto m2 = CheckpointStorage::ReadMetadata(storage.CheckpointDir(2));
  ASSERT_TRUE(m2.ok());
  EXPECT_EQ(m2->checkpoint_id, 2);

  // A retry of checkpoint 3 completes it.
  ASSERT_TRUE(storage.WriteStateFile(3, "keyed-b", "state-b").ok());
  ASSERT_TRUE(storage.WriteMetadata(SampleMetadata(3)).ok());
  EXPECT_EQ(**storage.LatestCompleted(), 3);
}

TEST_F(CheckpointStorageTest, DiscardRemovesTheCheckpointAndIsIdempotent) {
  CheckpointStorage storage(root_.string(), kJob);
  for (int64_t n : {1, 2}) {
    ASSERT_TRUE(storage.WriteStateFile(n, "keyed", "state").ok());
    ASSERT_TRUE(storage.WriteMetadata(SampleMetadata(n)).ok());
  }
  ASSERT_TRUE(storage.Discard(2).ok());
  EXPECT_FALSE(fs::exists(storage.CheckpointDir(2)));
  EXPECT_THAT(*storage.ListCompleted(), ElementsAre(1));
  EXPECT_EQ(**storage.LatestCompleted(), 1);
  EXPECT_TRUE(storage.Discard(2).ok()) << "absent is fine";
  EXPECT_TRUE(storage.Discard(42).ok());
  EXPECT_TRUE(fs::exists(storage.CheckpointDir(1) + "/keyed"));
}

TEST_F(CheckpointStorageTest, CorruptMetadataErrorNamesTheFile) {
  CheckpointStorage storage(root_.string(), kJob);
  const fs::path file = root_ / kJob / "chk-4" / "_metadata";
  WriteRaw(file, "{\"format-version\": 1, \"job-id\": ");
  auto m = CheckpointStorage::ReadMetadata(storage.CheckpointDir(4));
  EXPECT_EQ(m.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(m.status().message(), HasSubstr(file.string()));
  EXPECT_THAT(m.status().message(), HasSubstr("corrupt checkpoint metadata"));

  WriteRaw(file, R"({"format-version": 1, "job-id": "x", "checkpoint-id": 4})");
  m = CheckpointStorage::ReadMetadata(file.string());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(m.status().message(), HasSubstr(file.string()));
  EXPECT_THAT(m.status().message(), HasSubstr("timestamp"));

  WriteRaw(file, R"({"format-version": 99})");
  m = CheckpointStorage::ReadMetadata(file.string());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(m.status().message(), HasSubstr("format-version 99"));
}

}  // namespace
}  // namespace sluice::checkpoint
