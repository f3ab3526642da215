// Tests of StateAssignment: which subtask restores which state of a checkpoint, at the same
// parallelism and rescaled, for canonical and incremental keyed state, and the checks a
// checkpoint must pass before a job restores from it. Checkpoint metadata is built by hand; the
// JobGraph is compiled from a spec (no file is opened).

#include "jobmanager/state_assignment.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/checkpoint/checkpoint_storage.h"
#include "runtime/core/key_groups.h"
#include "runtime/deployment/task_deployment_descriptor.h"
#include "runtime/graph/job_graph.h"
#include "runtime/job/job_compiler.h"
#include "jobmanager/tests/window_spec.h"

namespace sluice::jobmanager {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Vertex 0: the source ("source"); vertex 1: window ("window-2") -> sink ("sink"), parallelism 2,
// max parallelism 128, so window subtask 0 owns key groups 0..63 and subtask 1 owns 64..127.
const std::string kSpec = testing_specs::WindowSpec("state-assignment", 2);

constexpr const char* kRocksDbState = "state:\n  backend: rocksdb\n";

constexpr const char* kDir = "/checkpoints/job-1/chk-7";
constexpr const char* kRestorePath = "/checkpoints/job-1/chk-7/_metadata";
constexpr int32_t kMaxParallelism = 128;

absl::StatusOr<graph::JobGraph> Compile(const std::string& extra = "") {
  return job::CompileJob(job::JobSubmission{kSpec + extra, "job.yaml", "/base", 0});
}

// Offsets of key groups [first, last] in a keyed state file, 64 bytes apart.
std::vector<std::pair<int32_t, uint64_t>> Offsets(int32_t first, int32_t last) {
  std::vector<std::pair<int32_t, uint64_t>> out;
  for (int32_t g = first; g <= last; ++g) out.emplace_back(g, static_cast<uint64_t>(g - first) * 64);
  return out;
}

checkpoint::OperatorStateHandle OperatorState(const std::string& uid, const std::string& state) {
  checkpoint::OperatorStateHandle h;
  h.operator_uid = uid;
  h.operator_state = state;
  return h;
}

checkpoint::OperatorStateHandle KeyedState(const std::string& uid, const std::string& state,
                                           const std::string& file, int32_t first_group,
                                           int32_t last_group) {
  checkpoint::OperatorStateHandle h = OperatorState(uid, state);
  h.keyed_state_file = file;
  h.key_group_offsets = Offsets(first_group, last_group);
  h.keyed_state_size = int64_t{64} * (last_group - first_group + 1);
  return h;
}

checkpoint::SubtaskStateHandle Subtask(int32_t vertex, int32_t subtask,
                                       std::vector<checkpoint::OperatorStateHandle> ops) {
  checkpoint::SubtaskStateHandle s;
  s.vertex = vertex;
  s.subtask = subtask;
  s.operators = std::move(ops);
  return s;
}

checkpoint::CheckpointMetadata Metadata() {
  checkpoint::CheckpointMetadata md;
  md.job_id = "0123456789abcdef0123456789abcdef";
  md.checkpoint_id = 7;
  md.timestamp_ms = 1'700'000'000'000;
  md.max_parallelism = kMaxParallelism;
  return md;
}

// The window's state of a checkpoint taken with the window vertex at `parallelism`, its subtasks
// listed in `order`: subtask i has operator state "w<i>" and keyed file "window-<i>" holding its
// key groups (as the TaskManager computed them at that parallelism).
void AddWindowState(checkpoint::CheckpointMetadata& md, int32_t parallelism,
                    const std::vector<int32_t>& order) {
  for (int32_t i : order) {
    const core::KeyGroupRange r =
        core::ComputeKeyGroupRangeForOperatorIndex(kMaxParallelism, parallelism, i);
    md.subtasks.push_back(Subtask(1, i,
                                  {KeyedState("window-2", "w" + std::to_string(i),
                                              "window-" + std::to_string(i), r.start, r.end)}));
  }
}

// The source's (operator) state at parallelism 2: "s0", "s1".
void AddSourceState(checkpoint::CheckpointMetadata& md) {
  for (int32_t i = 0; i < 2; ++i) {
    md.subtasks.push_back(Subtask(0, i, {OperatorState("source", "s" + std::to_string(i))}));
  }
}

std::vector<std::string> Paths(const std::vector<deployment::KeyedStateFile>& files) {
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back(f.path);
  return out;
}

std::vector<std::string> Uids(const std::vector<deployment::RestoredOperatorState>& restored) {
  std::vector<std::string> out;
  for (const auto& r : restored) out.push_back(r.operator_uid);
  return out;
}

class StateAssignmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto g = Compile();
    ASSERT_TRUE(g.ok()) << g.status();
    graph_ = std::move(*g);
    // The shape the tests rely on.
    ASSERT_EQ(graph_.vertices.size(), 2u);
    ASSERT_THAT(graph_.vertex(0).uids(), ElementsAre("source"));
    ASSERT_THAT(graph_.vertex(1).uids(), ElementsAre("window-2", "sink"));
    ASSERT_EQ(graph_.vertex(1).parallelism, 2);
    ASSERT_EQ(graph_.vertex(1).max_parallelism, kMaxParallelism);
  }
  const graph::JobVertex& source() const { return graph_.vertex(0); }
  const graph::JobVertex& window() const { return graph_.vertex(1); }

  graph::JobGraph graph_;
};

TEST_F(StateAssignmentTest, SameParallelismRestoresTheSameSubtaskAndItsOwnKeyGroups) {
  checkpoint::CheckpointMetadata md = Metadata();
  AddSourceState(md);
  AddWindowState(md, 2, {1, 0});

  for (int32_t subtask : {0, 1}) {
    SCOPED_TRACE("window subtask " + std::to_string(subtask));
    const std::string n = std::to_string(subtask);
    const auto restored = AssignState(md, kDir, window(), subtask);
    ASSERT_EQ(restored.size(), 1u);
    const deployment::RestoredOperatorState& r = restored[0];
    EXPECT_EQ(r.operator_uid, "window-2");
    EXPECT_THAT(r.operator_state, ::testing::Optional(std::string("w" + n)));
    EXPECT_THAT(r.union_states, IsEmpty());
    EXPECT_EQ(r.restored_parallelism, 0);
    EXPECT_THAT(Paths(r.keyed_state), ElementsAre("/checkpoints/job-1/chk-7/window-" + n));
    EXPECT_THAT(r.incremental_state, IsEmpty());
  }

  const auto second = AssignState(md, kDir, window(), 1);
  ASSERT_EQ(second.size(), 1u);
  ASSERT_EQ(second[0].keyed_state.size(), 1u);
  EXPECT_EQ(second[0].keyed_state[0].key_group_offsets, Offsets(64, 127));

  const auto src = AssignState(md, kDir, source(), 1);
  ASSERT_EQ(src.size(), 1u);
  EXPECT_EQ(src[0].operator_uid, "source");
  EXPECT_THAT(src[0].operator_state, ::testing::Optional(std::string("s1")));
  EXPECT_THAT(src[0].keyed_state, IsEmpty());
}

TEST_F(StateAssignmentTest, RescaledFromFourToTwoRestoresUnionStatesAndOverlappingFiles) {
  checkpoint::CheckpointMetadata md = Metadata();
  AddWindowState(md, 4, {2, 0, 3, 1});  // old ranges 0..31, 32..63, 64..95, 96..127

  const auto first = AssignState(md, kDir, window(), 0);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].operator_uid, "window-2");
  EXPECT_FALSE(first[0].operator_state.has_value());
  EXPECT_THAT(first[0].union_states, ElementsAre("w0", "w1", "w2", "w3"));
  EXPECT_EQ(first[0].restored_parallelism, 4);
  EXPECT_THAT(Paths(first[0].keyed_state), ElementsAre("/checkpoints/job-1/chk-7/window-0",
                                                       "/checkpoints/job-1/chk-7/window-1"));

  const auto second = AssignState(md, kDir, window(), 1);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_FALSE(second[0].operator_state.has_value());
  EXPECT_THAT(second[0].union_states, ElementsAre("w0", "w1", "w2", "w3"));
  EXPECT_EQ(second[0].restored_parallelism, 4);
  EXPECT_THAT(Paths(second[0].keyed_state), ElementsAre("/checkpoints/job-1/chk-7/window-2",
                                                        "/checkpoints/job-1/chk-7/window-3"));
  ASSERT_EQ(second[0].keyed_state.size(), 2u);
  EXPECT_EQ(second[0].keyed_state[0].key_group_offsets, Offsets(64, 95));
  EXPECT_EQ(second[0].keyed_state[1].key_group_offsets, Offsets(96, 127));
}

TEST_F(StateAssignmentTest, RescaledFromThreeToTwoAFileStraddlingBothRangesGoesToBoth) {
  checkpoint::CheckpointMetadata md = Metadata();
  AddWindowState(md, 3, {0, 1, 2});  // old ranges 0..42, 43..85, 86..127

  const auto first = AssignState(md, kDir, window(), 0);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].restored_parallelism, 3);
  EXPECT_THAT(Paths(first[0].keyed_state), ElementsAre("/checkpoints/job-1/chk-7/window-0",
                                                       "/checkpoints/job-1/chk-7/window-1"));

  const auto second = AssignState(md, kDir, window(), 1);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].restored_parallelism, 3);
  EXPECT_THAT(Paths(second[0].keyed_state), ElementsAre("/checkpoints/job-1/chk-7/window-1",
                                                        "/checkpoints/job-1/chk-7/window-2"));
}

TEST_F(StateAssignmentTest, OperatorsWithoutStateAreLeftOut) {
  checkpoint::CheckpointMetadata md = Metadata();
  AddWindowState(md, 2, {0, 1});

  // The sink has no state in the checkpoint.
  EXPECT_THAT(Uids(AssignState(md, kDir, window(), 0)), ElementsAre("window-2"));
  // Nor has the source.
  EXPECT_THAT(AssignState(md, kDir, source(), 0), IsEmpty());
  EXPECT_THAT(AssignState(Metadata(), kDir, window(), 1), IsEmpty());
}

TEST_F(StateAssignmentTest, IncrementalStateHasItsPathsResolvedAgainstTheCheckpointDir) {
  checkpoint::CheckpointMetadata md = Metadata();
  for (int32_t i : {0, 1}) {
    const core::KeyGroupRange r = core::ComputeKeyGroupRangeForOperatorIndex(kMaxParallelism, 2, i);
    const std::string n = std::to_string(i);
    checkpoint::OperatorStateHandle h =
        KeyedState("window-2", "w" + n, "window-meta-" + n, r.start, r.end);
    checkpoint::IncrementalKeyedState inc;
    inc.key_group_start = r.start;
    inc.key_group_end = r.end;
    checkpoint::StateFile sst;
    sst.name = "000012.sst";
    sst.path = "../shared/" + n + "-000012.sst";
    sst.size = 4096;
    sst.uploaded_by = 5;
    inc.shared_files.push_back(sst);
    checkpoint::StateFile manifest;
    manifest.name = "MANIFEST-000007";
    manifest.path = "window-" + n + "-MANIFEST-000007";
    manifest.size = 300;
    manifest.uploaded_by = 0;
    inc.private_files.push_back(manifest);
    inc.checkpointed_size = 300;
    h.incremental = inc;
    md.subtasks.push_back(Subtask(1, i, {h}));
  }

  const auto restored = AssignState(md, kDir, window(), 0);

  ASSERT_EQ(restored.size(), 1u);
  const deployment::RestoredOperatorState& r = restored[0];
  EXPECT_THAT(r.operator_state, ::testing::Optional(std::string("w0")));
  EXPECT_THAT(r.keyed_state, IsEmpty());  // it is incremental state, not a canonical file
  ASSERT_EQ(r.incremental_state.size(), 1u);  // only subtask 0's: 64..127 does not overlap
  const deployment::IncrementalKeyedState& inc = r.incremental_state[0];
  EXPECT_EQ(inc.key_group_start, 0);
  EXPECT_EQ(inc.key_group_end, 63);
  EXPECT_EQ(inc.meta.path, "/checkpoints/job-1/chk-7/window-meta-0");
  EXPECT_EQ(inc.meta.key_group_offsets, Offsets(0, 63));
  ASSERT_EQ(inc.files.size(), 2u);

  const deployment::IncrementalStateFile& shared = inc.files[0];
  EXPECT_EQ(shared.name, "000012.sst");
  EXPECT_EQ(shared.path, "/checkpoints/job-1/shared/0-000012.sst");
  EXPECT_EQ(shared.path, checkpoint::ResolveStatePath(kDir, "../shared/0-000012.sst"));
  EXPECT_EQ(shared.relative_path, "../shared/0-000012.sst");
  EXPECT_EQ(shared.size, 4096);
  EXPECT_EQ(shared.uploaded_by, 5);
  EXPECT_TRUE(shared.shared);

  const deployment::IncrementalStateFile& own = inc.files[1];
  EXPECT_EQ(own.name, "MANIFEST-000007");
  EXPECT_EQ(own.path, "/checkpoints/job-1/chk-7/window-0-MANIFEST-000007");
  EXPECT_EQ(own.relative_path, "window-0-MANIFEST-000007");
  EXPECT_EQ(own.size, 300);
  EXPECT_EQ(own.uploaded_by, 0);
  EXPECT_FALSE(own.shared);
}

TEST_F(StateAssignmentTest, CheckRestoreAcceptsStateOfTheJobsUids) {
  checkpoint::CheckpointMetadata md = Metadata();
  AddSourceState(md);
  AddWindowState(md, 4, {0, 1, 2, 3});  // another parallelism is fine: key groups are the same

  absl::Status s = CheckRestore(md, graph_, /*allow_non_restored=*/false, kRestorePath);
  EXPECT_TRUE(s.ok()) << s;
}

TEST_F(StateAssignmentTest, CheckRestoreRefusesStateOfAnUnknownUidUnlessAllowed) {
  checkpoint::CheckpointMetadata md = Metadata();
  AddWindowState(md, 2, {0, 1});
  md.subtasks.push_back(Subtask(0, 0, {OperatorState("filter-1", "f0")}));

  absl::Status s = CheckRestore(md, graph_, /*allow_non_restored=*/false, kRestorePath);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  const std::string msg(s.message());
  EXPECT_THAT(msg, HasSubstr("'filter-1'"));
  EXPECT_THAT(msg, HasSubstr(kRestorePath));
  EXPECT_THAT(msg, HasSubstr("allow-non-restored-state"));

  s = CheckRestore(md, graph_, /*allow_non_restored=*/true, kRestorePath);
  EXPECT_TRUE(s.ok()) << s;
}

TEST_F(StateAssignmentTest, CheckRestoreRefusesKeyedStateOfAnotherMaxParallelism) {
  checkpoint::CheckpointMetadata md = Metadata();
  AddWindowState(md, 2, {0, 1});
  md.max_parallelism = 256;

  absl::Status s = CheckRestore(md, graph_, /*allow_non_restored=*/false, kRestorePath);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  const std::string msg(s.message());
  EXPECT_THAT(msg, HasSubstr("'window-2'"));
  EXPECT_THAT(msg, HasSubstr("max parallelism 256"));

  // Operator state alone has no key groups: the max parallelism does not matter to it.
  checkpoint::CheckpointMetadata operator_only = Metadata();
  AddSourceState(operator_only);
  operator_only.max_parallelism = 256;
  s = CheckRestore(operator_only, graph_, /*allow_non_restored=*/false, kRestorePath);
  EXPECT_TRUE(s.ok()) << s;
}

TEST_F(StateAssignmentTest, CheckRestoreRefusesIncrementalStateOnTheHeapBackend) {
  checkpoint::CheckpointMetadata md = Metadata();
  checkpoint::OperatorStateHandle h = KeyedState("window-2", "w0", "window-meta-0", 0, 63);
  checkpoint::IncrementalKeyedState inc;
  inc.key_group_start = 0;
  inc.key_group_end = 63;
  h.incremental = inc;
  md.subtasks.push_back(Subtask(1, 0, {h}));

  ASSERT_EQ(graph_.config.state_backend.kind, graph::StateBackendKind::kHeap);
  absl::Status s = CheckRestore(md, graph_, /*allow_non_restored=*/false, kRestorePath);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  const std::string msg(s.message());
  EXPECT_THAT(msg, HasSubstr("incremental"));
  EXPECT_THAT(msg, HasSubstr("'window-2'"));

  auto rocksdb = Compile(kRocksDbState);
  ASSERT_TRUE(rocksdb.ok()) << rocksdb.status();
  ASSERT_EQ(rocksdb->config.state_backend.kind, graph::StateBackendKind::kRocksDb);
  s = CheckRestore(md, *rocksdb, /*allow_non_restored=*/false, kRestorePath);
  EXPECT_TRUE(s.ok()) << s;
}

TEST(CheckpointDirOfTest, StripsMetadataFileAndTrailingSlashes) {
  EXPECT_EQ(CheckpointDirOf("/checkpoints/job-1/chk-7/_metadata"), "/checkpoints/job-1/chk-7");
  EXPECT_EQ(CheckpointDirOf("/checkpoints/job-1/chk-7/"), "/checkpoints/job-1/chk-7");
  EXPECT_EQ(CheckpointDirOf("/checkpoints/job-1/chk-7//"), "/checkpoints/job-1/chk-7");
  EXPECT_EQ(CheckpointDirOf("/checkpoints/job-1/chk-7/_metadata/"), "/checkpoints/job-1/chk-7");
  EXPECT_EQ(CheckpointDirOf("/checkpoints/job-1/chk-7"), "/checkpoints/job-1/chk-7");
  EXPECT_EQ(CheckpointDirOf("/savepoints/savepoint-1a2b3c"), "/savepoints/savepoint-1a2b3c");
  EXPECT_EQ(CheckpointDirOf("/"), "/");
}

}  // namespace
}  // namespace sluice::jobmanager
