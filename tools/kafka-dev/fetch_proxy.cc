#include "tools/kafka-dev/fetch_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fmt/format.h"
#include "spdlog/spdlog.h"
#include "tools/kafka-dev/fetch_coalescer.h"

namespace sluice::tools {
namespace {

using Clock = std::chrono::steady_clock;

bool ReadFully(int fd, uint8_t* data, size_t size) {
  while (size > 0) {
    ssize_t got = read(fd, data, size);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    data += got;
    size -= static_cast<size_t>(got);
  }
  return true;
}

bool WriteFully(int fd, const uint8_t* data, size_t size) {
  while (size > 0) {
    ssize_t sent = send(fd, data, size, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) return false;
    data += sent;
    size -= static_cast<size_t>(sent);
  }
  return true;
}

// One size-prefixed frame into `frame` (without the prefix); false on EOF, error or a size
// outside 0..kMaxFrameBytes.
bool ReadFrame(int fd, std::vector<uint8_t>& frame) {
  uint8_t prefix[4];
  if (!ReadFully(fd, prefix, sizeof(prefix))) return false;
  int32_t size = static_cast<int32_t>((uint32_t{prefix[0]} << 24) | (uint32_t{prefix[1]} << 16) |
                                      (uint32_t{prefix[2]} << 8) | uint32_t{prefix[3]});
  if (size < 0 || size > kafka::kMaxFrameBytes) {
    spdlog::warn("fetch proxy: a frame of {} bytes (at most {}); closing the connection", size,
                 kafka::kMaxFrameBytes);
    return false;
  }
  frame.resize(static_cast<size_t>(size));
  return ReadFully(fd, frame.data(), frame.size());
}

bool WriteFrame(int fd, std::span<const uint8_t> frame) {
  auto size = static_cast<uint32_t>(frame.size());
  uint8_t prefix[4] = {static_cast<uint8_t>(size >> 24), static_cast<uint8_t>(size >> 16),
                       static_cast<uint8_t>(size >> 8), static_cast<uint8_t>(size)};
  return WriteFully(fd, prefix, sizeof(prefix)) && WriteFully(fd, frame.data(), frame.size());
}

void SetNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

sockaddr_in Loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

// A listening socket on 127.0.0.1 at a port the kernel picks; returns {fd, port}.
absl::StatusOr<std::pair<int, int>> ListenOnLoopback() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(fmt::format("socket: {}", std::strerror(errno)));
  sockaddr_in address = Loopback(0);
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(fd, 128) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    std::string error = std::strerror(errno);
    close(fd);
    return absl::InternalError(fmt::format("listening on 127.0.0.1: {}", error));
  }
  return std::make_pair(fd, static_cast<int>(ntohs(address.sin_port)));
}

}  // namespace

uint64_t ProduceSignal::generation() const {
  std::lock_guard lock(mu_);
  return generation_;
}

void ProduceSignal::Notify() {
  {
    std::lock_guard lock(mu_);
    ++generation_;
  }
  changed_.notify_all();
}

uint64_t ProduceSignal::WaitForChange(uint64_t seen, Clock::time_point deadline) {
  std::unique_lock lock(mu_);
  changed_.wait_until(lock, deadline, [&] { return stopped_ || generation_ != seen; });
  return generation_;
}

void ProduceSignal::Stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  changed_.notify_all();
}

absl::StatusOr<std::unique_ptr<FetchProxy>> FetchProxy::Start(std::vector<int> upstream_ports,
                                                               int slow_request_ms) {
  std::unique_ptr<FetchProxy> proxy(new FetchProxy());
  proxy->upstream_ports_ = std::move(upstream_ports);
  proxy->slow_request_ms_ = slow_request_ms;
  for (int upstream : proxy->upstream_ports_) {
    auto listener = ListenOnLoopback();
    if (!listener.ok()) return listener.status();
    proxy->listen_fds_.push_back(listener->first);
    proxy->ports_.push_back(listener->second);
    proxy->port_map_[upstream] = listener->second;
  }
  proxy->stop_fd_ = eventfd(0, EFD_CLOEXEC);
  if (proxy->stop_fd_ < 0) {
    return absl::InternalError(fmt::format("eventfd: {}", std::strerror(errno)));
  }
  proxy->acceptor_ = std::thread([p = proxy.get()] { p->AcceptLoop(); });
  return proxy;
}

FetchProxy::~FetchProxy() {
  Stop();
  for (int fd : listen_fds_) close(fd);
  if (stop_fd_ >= 0) close(stop_fd_);
}

void FetchProxy::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (Connection& c : connections_) {
      shutdown(c.client_fd, SHUT_RDWR);
      if (c.upstream_fd >= 0) shutdown(c.upstream_fd, SHUT_RDWR);
    }
  }
  produced_.Stop();
  if (stop_fd_ >= 0) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t ignored = write(stop_fd_, &one, sizeof(one));
  }
  if (acceptor_.joinable()) acceptor_.join();
  std::lock_guard lock(mu_);
  for (Connection& c : connections_) {
    if (c.thread.joinable()) c.thread.join();
    close(c.client_fd);
    if (c.upstream_fd >= 0) close(c.upstream_fd);
  }
  connections_.clear();
}

void FetchProxy::AcceptLoop() {
  std::vector<pollfd> fds;
  for (int fd : listen_fds_) fds.push_back({fd, POLLIN, 0});
  fds.push_back({stop_fd_, POLLIN, 0});
  while (true) {
    int n = poll(fds.data(), fds.size(), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      spdlog::error("fetch proxy: poll failed: {}", std::strerror(errno));
      return;
    }
    if (fds.back().revents != 0) return;
    for (size_t i = 0; i + 1 < fds.size(); ++i) {
      if (fds[i].revents & POLLIN) Accept(static_cast<int>(i));
    }
    ReapFinished();
  }
}

void FetchProxy::Accept(int listener_index) {
  int client = accept4(listen_fds_[listener_index], nullptr, nullptr, SOCK_CLOEXEC);
  if (client < 0) return;
  SetNoDelay(client);
  int upstream = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address = Loopback(upstream_ports_[listener_index]);
  if (upstream < 0 ||
      connect(upstream, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    // The broker is down (broker-down): the client sees its connection closed.
    spdlog::debug("fetch proxy: broker {} refuses connections ({}); closing the client's",
                  listener_index + 1, std::strerror(errno));
    if (upstream >= 0) close(upstream);
    close(client);
    return;
  }
  SetNoDelay(upstream);
  std::lock_guard lock(mu_);
  if (stopping_) {
    close(client);
    close(upstream);
    return;
  }
  Connection& c = connections_.emplace_back();
  c.client_fd = client;
  c.upstream_fd = upstream;
  c.broker = listener_index + 1;
  c.thread = std::thread([this, conn = &c] { Relay(conn); });
}

void FetchProxy::ReapFinished() {
  std::lock_guard lock(mu_);
  for (auto it = connections_.begin(); it != connections_.end();) {
    if (!it->done.load()) {
      ++it;
      continue;
    }
    it->thread.join();
    close(it->client_fd);
    close(it->upstream_fd);
    it = connections_.erase(it);
  }
}

bool FetchProxy::Exchange(Connection* c, int16_t api, const std::vector<uint8_t>& request,
                          std::vector<uint8_t>& response) {
  const Clock::time_point sent = Clock::now();
  if (!WriteFrame(c->upstream_fd, request) || !ReadFrame(c->upstream_fd, response)) return false;
  if (slow_request_ms_ > 0) {
    const auto took = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - sent);
    if (took >= std::chrono::milliseconds(slow_request_ms_)) {
      spdlog::info("fetch proxy: broker {} took {:.1f} ms to answer a request of API key {}",
                   c->broker, static_cast<double>(took.count()) / 1000.0, api);
    }
  }
  return true;
}

void FetchProxy::Relay(Connection* c) {
  std::vector<uint8_t> request, response;
  auto unreadable = [&](const absl::Status& status) {
    if (!warned_unreadable_.exchange(true)) {
      spdlog::warn("fetch proxy: relaying a frame it cannot read unchanged: {}",
                   std::string(status.message()));
    }
  };
  RoundTrip round_trip = [c](std::span<const uint8_t> frame)
      -> absl::StatusOr<std::vector<uint8_t>> {
    std::vector<uint8_t> answer;
    if (!WriteFrame(c->upstream_fd, frame) || !ReadFrame(c->upstream_fd, answer)) {
      return absl::UnavailableError("the broker closed the connection");
    }
    return answer;
  };
  while (ReadFrame(c->client_fd, request)) {
    auto header = kafka::ParseRequestHeader(request);
    if (!header.ok()) unreadable(header.status());
    auto api = header.ok() ? static_cast<kafka::ApiKey>(header->api_key) : kafka::ApiKey{-1};
    int16_t version = header.ok() ? header->api_version : -1;

    int32_t max_wait_ms = 0;  // > 0: a Fetch to park while it finds nothing
    if (api == kafka::ApiKey::kFetch && version <= kafka::kMaxFetchVersion) {
      auto old_wait = kafka::ReplaceFetchMaxWait(request, *header, 0);
      if (old_wait.ok()) max_wait_ms = *old_wait;
      else unreadable(old_wait.status());
    }
    bool expects_response = true;
    if (api == kafka::ApiKey::kProduce && version <= kafka::kMaxProduceVersion) {
      auto acks = kafka::ProduceExpectsResponse(request, *header);
      if (acks.ok()) expects_response = *acks;
    }

    Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(max_wait_ms);
    uint64_t seen = produced_.generation();
    bool ok = true;
    while (true) {
      if (!expects_response) {
        ok = WriteFrame(c->upstream_fd, request);
        break;
      }
      if (!Exchange(c, header.ok() ? header->api_key : -1, request, response)) {
        ok = false;
        break;
      }
      if (max_wait_ms <= 0) break;
      auto news = kafka::FetchResponseHasNews(response, version);
      if (!news.ok()) unreadable(news.status());
      if (news.ok() && *news) {
        auto coalesced = CoalesceFetch(request, *header, std::move(response), round_trip);
        ok = coalesced.ok();
        if (ok) response = *std::move(coalesced);
        break;
      }
      if (!news.ok()) break;
      spdlog::debug("fetch proxy: parked Fetch {} for at most {} ms", header->correlation_id,
                    max_wait_ms);
      uint64_t now_seen = produced_.WaitForChange(seen, deadline);
      if (now_seen == seen) break;  // max_wait_ms passed (or stopping): answer "nothing"
      seen = now_seen;
    }
    if (!ok) break;
    if (expects_response) {
      if ((api == kafka::ApiKey::kMetadata && version <= kafka::kMaxMetadataVersion) ||
          (api == kafka::ApiKey::kFindCoordinator &&
           version <= kafka::kMaxFindCoordinatorVersion)) {
        absl::Status rewritten = kafka::RewriteBrokerPorts(response, api, version, port_map_);
        if (!rewritten.ok()) unreadable(rewritten);
      }
      if (!WriteFrame(c->client_fd, response)) break;
    }
    if (api == kafka::ApiKey::kProduce) produced_.Notify();
  }
  shutdown(c->client_fd, SHUT_RDWR);
  shutdown(c->upstream_fd, SHUT_RDWR);
  c->done.store(true);
}

}  // namespace sluice::tools
