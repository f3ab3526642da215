// FetchProxy: the TCP front of sluice-kafka-dev's brokers, which gives the mock cluster a real
// broker's fetch behaviour.
//
// Why: a Kafka broker holds a Fetch that finds no new data for at most the request's
// max_wait_ms (the consumer's fetch.wait.max.ms, 500 ms by default) and answers it as soon as a
// Produce brings data (Kafka's DelayedFetch in the purgatory). librdkafka 2.0.2's mock holds it
// for the whole max_wait_ms whatever arrives (rdkafka_mock_handlers.c), so every consumer hop
// through the mock added up to 500 ms of latency (issue 15).
//
// How: one listener on 127.0.0.1 per mock broker; each client connection gets its own upstream
// connection to that broker and a thread that relays requests one at a time (a Kafka broker also
// handles one request per connection at a time, so responses stay in order):
//  - Fetch (v0-11): forwarded with max_wait_ms 0. An answer without records or errors is parked
//    until a Produce through any listener completes (then the Fetch is sent again) or the
//    client's max_wait_ms has passed (then the empty answer is returned).
//  - Metadata and FindCoordinator (v0-2): the brokers' ports in the answer are replaced by the
//    listeners' ports, so clients keep talking through the proxy.
//  - Everything else is relayed unchanged, as is any frame the proxy cannot read (logged once).
// When either side closes, both connections are closed, so the mock's broker-down still
// disconnects clients; a connection to a broker that is down is accepted and closed at once.
//
// Thread safety: Start and Stop from one thread; the proxy runs an accept thread and one thread
// per connection. Stop (also from the destructor) closes everything and joins the threads.

#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/kafka-dev/kafka_frames.h"

namespace sluice::tools {

// Counts completed Produce requests; parked Fetches wait for it to change. Thread-safe.
class ProduceSignal {
 public:
  uint64_t generation() const;
  void Notify();
  // Waits until the generation differs from `seen`, `deadline` passes or Stop() is called;
  // returns the generation then.
  uint64_t WaitForChange(uint64_t seen, std::chrono::steady_clock::time_point deadline);
  void Stop();

 private:
  mutable std::mutex mu_;
  std::condition_variable changed_;
  uint64_t generation_ = 0;
  bool stopped_ = false;
};

class FetchProxy {
 public:
  // Listens on 127.0.0.1:0 once for each port in `upstream_ports` (the mock brokers', in broker
  // id order). `slow_request_ms` > 0 logs (info) every request the broker takes longer than
  // that to answer, with its API key, broker and time (the latency benchmark uses it to tell
  // the broker's stalls from the job's). Errors: Internal when a socket cannot be set up.
  static absl::StatusOr<std::unique_ptr<FetchProxy>> Start(std::vector<int> upstream_ports,
                                                           int slow_request_ms = 0);

  FetchProxy(const FetchProxy&) = delete;
  FetchProxy& operator=(const FetchProxy&) = delete;
  ~FetchProxy();

  // The listeners' ports, in the order of `upstream_ports`.
  const std::vector<int>& ports() const { return ports_; }

  void Stop();

 private:
  struct Connection {
    int client_fd = -1;
    int upstream_fd = -1;
    int broker = 0;  // 1-based broker id
    std::thread thread;
    std::atomic<bool> done{false};
  };

  FetchProxy() = default;
  void AcceptLoop();
  void Accept(int listener_index);
  void Relay(Connection* connection);
  void ReapFinished();

  // One request to the broker and its answer; logs it if slow (see Start).
  bool Exchange(Connection* c, int16_t api, const std::vector<uint8_t>& request,
                std::vector<uint8_t>& response);

  std::vector<int> upstream_ports_;
  int slow_request_ms_ = 0;
  std::vector<int> listen_fds_;
  std::vector<int> ports_;
  kafka::PortMap port_map_;  // upstream port -> listener port; immutable after Start
  int stop_fd_ = -1;         // eventfd that wakes the accept thread
  std::thread acceptor_;
  ProduceSignal produced_;
  std::atomic<bool> warned_unreadable_{false};

  std::mutex mu_;
  std::list<Connection> connections_;  // guarded by mu_
  bool stopping_ = false;              // guarded by mu_
};

}  // namespace sluice::tools
