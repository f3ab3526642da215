#include "runtime/graph/job_graph.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sluice::graph {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

core::SchemaPtr Schema(std::vector<core::Field> fields = {{"k", core::Type::kInt64}}) {
  return std::make_shared<core::Schema>(std::move(fields));
}

// Builds StreamGraphs node by node; factories are never called here.
class Builder {
 public:
  int Source(const std::string& name, int parallelism = 2, core::SchemaPtr schema = Schema()) {
    StreamNode n;
    n.name = name;
    n.uid = name;
    n.parallelism = parallelism;
    n.num_inputs = 0;
    n.output_schema = std::move(schema);
    n.source = [] { return absl::StatusOr<std::unique_ptr<api::Source>>(nullptr); };
    return g.AddNode(std::move(n));
  }
  int Op(const std::string& name, int parallelism = 2, int inputs = 1, int side_outputs = 0,
         bool sink = false) {
    StreamNode n;
    n.name = name;
    n.uid = name;
    n.parallelism = parallelism;
    n.num_inputs = inputs;
    n.sink = sink;
    n.output_schema = Schema();
    for (int i = 0; i < side_outputs; ++i) n.side_output_schemas.push_back(Schema());
    n.op = [] { return absl::StatusOr<std::unique_ptr<api::Operator>>(nullptr); };
    return g.AddNode(std::move(n));
  }
  int Sink(const std::string& name, int parallelism = 2) { return Op(name, parallelism, 1, 0, true); }
  void Edge(int from, int to, PartitionerKind p = PartitionerKind::kForward, int output = 0,
            int input = 0) {
    StreamEdge e{from, output, to, input, p, {}};
    if (p == PartitionerKind::kHash) e.key_fields = {"k"};
    g.AddEdge(e);
  }
  absl::StatusOr<JobGraph> Build() { return BuildJobGraph(g, 2, 128, JobConfig{}); }
  StreamGraph g;
};

TEST(BuildJobGraph, ChainsForwardEdgesOfEqualParallelismIntoOneVertex) {
  Builder b;
  int s = b.Source("Source: a"), f = b.Op("Filter"), k = b.Sink("Sink: x");
  b.Edge(s, f);
  b.Edge(f, k);
  auto g = b.Build();
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_EQ(g->vertices.size(), 1u);
  EXPECT_EQ(g->vertices[0].name, "Source: a -> Filter -> Sink: x");
  EXPECT_TRUE(g->edges.empty());
  EXPECT_THAT(g->vertices[0].source->outputs.chained, ElementsAre(0));
  EXPECT_THAT(g->vertices[0].operators[0].outputs[0].chained, ElementsAre(1));
}

TEST(BuildJobGraph, HashRebalanceAndParallelismChangesStartNewVertices) {
  Builder b;
  int s = b.Source("Source: a"), w = b.Op("Window"), m = b.Op("Map", 3), k = b.Sink("Sink: x", 3);
  b.Edge(s, w, PartitionerKind::kHash);
  b.Edge(w, m, PartitionerKind::kRebalance);
  b.Edge(m, k);
  auto g = b.Build();
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_EQ(g->vertices.size(), 3u);
  EXPECT_EQ(g->vertices[2].name, "Map -> Sink: x");
  ASSERT_EQ(g->edges.size(), 2u);
  EXPECT_EQ(g->edges[0].partitioner, PartitionerKind::kHash);
  EXPECT_EQ(g->edges[1].partitioner, PartitionerKind::kRebalance);
  EXPECT_EQ(g->edges[1].source, 1);
  EXPECT_EQ(g->edges[1].target, 2);
}

// Flink chains an operator into several chained successors: a chain is a tree.
TEST(BuildJobGraph, OneOutputFeedsSeveralChainedOperatorsAndEdges) {
  Builder b;
  int s = b.Source("Source: a"), x = b.Sink("Sink: x"), y = b.Sink("Sink: y"), z = b.Sink("Sink: z", 1);
  b.Edge(s, x);
  b.Edge(s, y);
  b.Edge(s, z, PartitionerKind::kRebalance);
  auto g = b.Build();
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_EQ(g->vertices.size(), 2u);
  EXPECT_EQ(g->vertices[0].name, "Source: a -> (Sink: x, Sink: y)");
  EXPECT_THAT(g->vertices[0].source->outputs.chained, ElementsAre(0, 1));
  EXPECT_THAT(g->vertices[0].source->outputs.edges, ElementsAre(0));
  EXPECT_THAT(g->vertices[0].outputs, ElementsAre(0));
}

TEST(BuildJobGraph, AnOperatorWithSeveralInputEdgesHeadsItsOwnVertex) {
  Builder b;
  int a = b.Source("Source: a"), c = b.Source("Source: b"), u = b.Op("Join", 2, /*inputs=*/2);
  int k = b.Sink("Sink: x");
  b.Edge(a, u, PartitionerKind::kHash, 0, 0);
  b.Edge(c, u, PartitionerKind::kForward, 0, 1);  // forward, but a second input: not chained
  b.Edge(u, k);
  auto g = b.Build();
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_EQ(g->vertices.size(), 3u);
  const JobVertex& join = g->vertices[2];
  EXPECT_EQ(join.name, "Join -> Sink: x");
  ASSERT_EQ(join.inputs.size(), 2u);
  EXPECT_EQ(g->edge(join.inputs[0]).target_input, 0);
  EXPECT_EQ(g->edge(join.inputs[1]).target_input, 1);
  EXPECT_EQ(g->edge(join.inputs[1]).target_gate, 1);
  EXPECT_EQ(join.num_logical_inputs(), 2);
}

TEST(BuildJobGraph, SideOutputsAreEdgesOfTheirOwn) {
  Builder b;
  int s = b.Source("Source: a"), f = b.Op("Filter", 2, 1, /*side_outputs=*/1);
  int main = b.Sink("Sink: main"), side = b.Sink("Sink: late", 1);
  b.Edge(s, f);
  b.Edge(f, main);
  b.Edge(f, side, PartitionerKind::kRebalance, /*output=*/1);
  auto g = b.Build();
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_EQ(g->edges.size(), 1u);
  EXPECT_EQ(g->edges[0].source_output, 1);
  EXPECT_EQ(g->edges[0].source_operator, 0);
  const ChainedOperator& filter = g->vertices[0].operators[0];
  ASSERT_EQ(filter.outputs.size(), 2u);
  EXPECT_THAT(filter.outputs[0].chained, ElementsAre(1));
  EXPECT_THAT(filter.outputs[1].edges, ElementsAre(0));
}

TEST(BuildJobGraph, VerticesAreInTopologicalOrder) {
  Builder b;
  int k = b.Sink("Sink: x", 1);  // added first, but runs last
  int s = b.Source("Source: a", 1);
  b.Edge(s, k, PartitionerKind::kRebalance);
  auto g = b.Build();
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_EQ(g->vertices.size(), 2u);
  EXPECT_TRUE(g->vertices[0].is_source());
  for (const auto& e : g->edges) EXPECT_LT(e.source, e.target);
}

TEST(BuildJobGraph, RefusesACycleNamingItsOperators) {
  Builder b;
  int s = b.Source("Source: a"), x = b.Op("X", 2, 2), y = b.Op("Y"), k = b.Sink("Sink: k");
  b.Edge(s, x, PartitionerKind::kForward, 0, 0);
  b.Edge(x, y);
  b.Edge(y, x, PartitionerKind::kRebalance, 0, 1);
  b.Edge(y, k);
  auto g = b.Build();
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(g.status().message(), HasSubstr("cycle"));
  EXPECT_THAT(g.status().message(), HasSubstr("'X' -> 'Y' -> 'X'"));
}

TEST(BuildJobGraph, RefusesMalformedGraphs) {
  {
    Builder b;  // an input without a stream
    int s = b.Source("Source: a"), j = b.Op("Join", 2, 2);
    b.Edge(s, j);
    auto g = b.Build();
    EXPECT_THAT(g.status().message(), HasSubstr("input 2 of 'Join' is not connected"));
  }
  {
    Builder b;  // forward across parallelisms
    int s = b.Source("Source: a", 2), k = b.Sink("Sink: k", 3);
    b.Edge(s, k, PartitionerKind::kForward);
    EXPECT_THAT(b.Build().status().message(), HasSubstr("cannot change parallelism"));
  }
  {
    Builder b;  // a side output the operator does not have
    int s = b.Source("Source: a"), k = b.Sink("Sink: k");
    b.Edge(s, k, PartitionerKind::kForward, /*output=*/1);
    EXPECT_THAT(b.Build().status().message(), HasSubstr("has no side output 1"));
  }
  {
    Builder b;  // a union of different schemas
    int s1 = b.Source("Source: a"), s2 = b.Source("Source: b", 2, Schema({{"x", core::Type::kString}}));
    int k = b.Sink("Sink: k");
    b.Edge(s1, k, PartitionerKind::kRebalance);
    b.Edge(s2, k, PartitionerKind::kRebalance);
    EXPECT_THAT(b.Build().status().message(), HasSubstr("must have the same fields"));
  }
  {
    Builder b;  // an edge out of a sink
    int s = b.Source("Source: a"), k = b.Sink("Sink: k"), k2 = b.Sink("Sink: k2");
    b.Edge(s, k);
    b.Edge(k, k2);
    EXPECT_THAT(b.Build().status().message(), HasSubstr("sink 'Sink: k' has no output"));
  }
}

}  // namespace
}  // namespace sluice::graph
