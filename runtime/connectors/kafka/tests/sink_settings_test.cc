// The librdkafka settings a Kafka sink's producers get (RdKafkaSinkSettings): Sluice's defaults,
// which yield to the user's properties, and the refusals.
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/connectors/kafka/kafka_sink.h"

namespace sluice::connectors::kafka {
namespace {

using Settings = std::vector<std::pair<std::string, std::string>>;

KafkaSinkOptions Options(DeliveryGuarantee delivery, std::map<std::string, std::string> props) {
  KafkaSinkOptions o;
  o.bootstrap_servers = "127.0.0.1:9092";
  o.topic = "out";
  o.delivery = delivery;
  o.properties = std::move(props);
  return o;
}

Settings SettingsOf(const KafkaSinkOptions& o) {
  auto s = RdKafkaSinkSettings(o, "sluice-test-0");
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : Settings{};
}

// The value librdkafka ends up with: the last setting of `key` wins, as in rd_kafka_conf_set.
std::optional<std::string> Effective(const Settings& s, const std::string& key) {
  std::optional<std::string> v;
  for (const auto& [k, value] : s) {
    if (k == key) v = value;
  }
  return v;
}

TEST(KafkaSinkSettingsTest, AtLeastOnceAndNoneAreIdempotentByDefault) {
  for (DeliveryGuarantee d : {DeliveryGuarantee::kAtLeastOnce, DeliveryGuarantee::kNone}) {
    Settings s = SettingsOf(Options(d, {}));
    EXPECT_EQ(Effective(s, "enable.idempotence"), "true");
    EXPECT_EQ(Effective(s, "linger.ms"), "1");
    EXPECT_EQ(Effective(s, "socket.nagle.disable"), "true");
    EXPECT_EQ(Effective(s, "bootstrap.servers"), "127.0.0.1:9092");
  }
  // Settings compatible with idempotence keep it.
  Settings s = SettingsOf(Options(DeliveryGuarantee::kAtLeastOnce,
                                  {{"acks", "all"}, {"max.in.flight", "5"}, {"retries", "10"}}));
  EXPECT_EQ(Effective(s, "enable.idempotence"), "true");
}

TEST(KafkaSinkSettingsTest, IdempotenceYieldsToSettingsItCannotHave) {
  const std::vector<std::map<std::string, std::string>> conflicting = {
      {{"acks", "1"}},
      {{"request.required.acks", "0"}},
      {{"max.in.flight.requests.per.connection", "6"}},
      {{"max.in.flight", "not-a-number"}},
      {{"retries", "0"}},
      {{"message.send.max.retries", "0"}},
  };
  for (const auto& props : conflicting) {
    Settings s = SettingsOf(Options(DeliveryGuarantee::kAtLeastOnce, props));
    EXPECT_EQ(Effective(s, "enable.idempotence"), std::nullopt) << props.begin()->first;
  }
  // The user's own choice stands either way.
  Settings off = SettingsOf(Options(DeliveryGuarantee::kAtLeastOnce,
                                    {{"enable.idempotence", "false"}}));
  EXPECT_EQ(Effective(off, "enable.idempotence"), "false");
}

TEST(KafkaSinkSettingsTest, ExactlyOnceLeavesIdempotenceToTheTransactionalProducer) {
  KafkaSinkOptions o = Options(DeliveryGuarantee::kExactlyOnce, {});
  o.transactional_id_prefix = "tx";
  Settings s = SettingsOf(o);
  // A transactional.id implies idempotence in librdkafka; the sink adds it per producer.
  EXPECT_EQ(Effective(s, "enable.idempotence"), std::nullopt);
  EXPECT_EQ(Effective(s, "linger.ms"), std::nullopt);
  EXPECT_EQ(Effective(s, "transaction.timeout.ms"), "900000");
}

TEST(KafkaSinkSettingsTest, UserPropertiesWinOverDefaults) {
  Settings s = SettingsOf(Options(DeliveryGuarantee::kAtLeastOnce,
                                  {{"linger.ms", "20"}, {"socket.nagle.disable", "false"}}));
  EXPECT_EQ(Effective(s, "linger.ms"), "20");
  EXPECT_EQ(Effective(s, "socket.nagle.disable"), "false");
}

TEST(KafkaSinkSettingsTest, RefusesWhatTheSinkOwnsOrCannotResolve) {
  auto tx = RdKafkaSinkSettings(
      Options(DeliveryGuarantee::kAtLeastOnce, {{"transactional.id", "mine"}}), "c");
  EXPECT_EQ(tx.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(tx.status().message().find("transactional.id"), std::string::npos);

  KafkaSinkOptions none = Options(DeliveryGuarantee::kAtLeastOnce, {});
  none.bootstrap_servers.clear();
  auto missing = RdKafkaSinkSettings(none, "c");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("bootstrap.servers is required"), std::string::npos);

  auto differ = RdKafkaSinkSettings(
      Options(DeliveryGuarantee::kAtLeastOnce, {{"bootstrap.servers", "other:9092"}}), "c");
  EXPECT_EQ(differ.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(differ.status().message().find("differ"), std::string::npos);
}

}  // namespace
}  // namespace sluice::connectors::kafka
