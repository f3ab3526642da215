#pragma once
// Test helper shared by the Kafka source and sink tests: an in-process librdkafka mock cluster
// (3 brokers on 127.0.0.1) and quiet client configurations pointed at it.

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

namespace sluice::connectors::kafka::testing {

inline void QuietLog(const rd_kafka_t*, int, const char*, const char*) {}

// A new client configuration with librdkafka's logging silenced and, if given,
// bootstrap.servers set. The caller hands it to rd_kafka_new.
inline rd_kafka_conf_t* QuietConf(const std::string& bootstrap = "") {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, QuietLog);
  if (!bootstrap.empty()) {
    EXPECT_EQ(rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof(err)),
              RD_KAFKA_CONF_OK)
        << err;
  }
  return conf;
}

// The next `n` Produce requests to `cluster` fail with `err` (the broker's answer).
inline void RefuseProduceRequests(rd_kafka_mock_cluster_t* cluster, size_t n,
                                  rd_kafka_resp_err_t err) {
  const std::vector<rd_kafka_resp_err_t> errors(n, err);
  rd_kafka_mock_push_request_errors_array(cluster, /*Produce*/ 0, errors.size(), errors.data());
}

// Three mock brokers, destroyed with the object.
class MockCluster {
 public:
  MockCluster() {
    char err[512];
    handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, QuietConf(), err, sizeof(err));
    EXPECT_NE(handle_, nullptr) << err;
    cluster_ = rd_kafka_mock_cluster_new(handle_, 3);
    EXPECT_NE(cluster_, nullptr);
    bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster_);
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(handle_);
  }
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  const std::string& bootstrap() const { return bootstrap_; }
  rd_kafka_mock_cluster_t* cluster() { return cluster_; }
  void CreateTopic(const std::string& name, int partitions) {
    ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, 1),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }

 private:
  rd_kafka_t* handle_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstrap_;
};

}  // namespace sluice::connectors::kafka::testing
