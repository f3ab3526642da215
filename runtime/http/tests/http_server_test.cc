#include "runtime/http/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "httplib.h"

namespace sluice::http {
namespace {

// A raw TCP connection from a chosen loopback source address, for clients that misbehave.
class RawClient {
 public:
  RawClient(const char* source_ip, int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, source_ip, &src.sin_addr);
    bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof(src));
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&dst), sizeof(dst)) == 0;
  }
  ~RawClient() { close(fd_); }
  bool connected() const { return connected_; }
  void Send(const std::string& data) { (void)send(fd_, data.data(), data.size(), MSG_NOSIGNAL); }
  // Reads until the server closes the connection or the deadline passes; true if closed.
  bool ReadUntilClosed(std::chrono::milliseconds deadline, std::string* out) {
    auto end = std::chrono::steady_clock::now() + deadline;
    char buf[4096];
    while (std::chrono::steady_clock::now() < end) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return true;
      out->append(buf, static_cast<size_t>(n));
    }
    return false;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions options) {
    router_.Get("/hello", [](const Request& req, Response* res) {
      res->Set(200, "hello " + std::string(req.Query("name")), "text/plain");
    });
    router_.Post("/echo", [](const Request& req, Response* res) {
      res->Set(200, std::to_string(req.body.size()) + ":" + std::string(req.Header("x-tag")),
               "text/plain");
    });
    server_ = std::make_unique<HttpServer>(&router_, options);
    ASSERT_TRUE(server_->Start("127.0.0.1", 0).ok());
    ASSERT_GT(server_->port(), 0);
  }
  httplib::Client Client(const char* host = "127.0.0.1") {
    httplib::Client c(host, server_->port());
    c.set_connection_timeout(5);
    c.set_read_timeout(5);
    return c;
  }

  Router router_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, ServesRoutesWithQueryHeadersAndBody) {
  StartServer({});
  auto c = Client();
  auto get = c.Get("/hello?name=flink%20user");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, "hello flink user");
  EXPECT_EQ(get->get_header_value("Content-Type"), "text/plain");
  httplib::Headers headers{{"X-Tag", "t1"}};
  auto post = c.Post("/echo", headers, std::string(1000, 'x'), "text/plain");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->body, "1000:t1");
  auto missing = c.Get("/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  auto wrong = c.Delete("/hello");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 405);
  EXPECT_EQ(wrong->get_header_value("Allow"), "GET");
}

TEST_F(HttpServerTest, OversizedBodyIs413WithoutReadingIt) {
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  StartServer(options);
  auto c = Client();
  auto ok = c.Post("/echo", std::string(1024, 'x'), "text/plain");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->body, "1024:");
  // A declared length over the limit: 413 before a byte of the body is sent.
  RawClient raw("127.0.0.1", server_->port());
  ASSERT_TRUE(raw.connected());
  raw.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n");
  std::string reply;
  EXPECT_TRUE(raw.ReadUntilClosed(std::chrono::seconds(10), &reply));
  EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply;
  // A chunked body that grows past the limit.
  RawClient chunked("127.0.0.1", server_->port());
  chunked.Send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 4; ++i) chunked.Send("200\r\n" + std::string(512, 'y') + "\r\n");
  chunked.Send("0\r\n\r\n");
  std::string chunked_reply;
  EXPECT_TRUE(chunked.ReadUntilClosed(std::chrono::seconds(10), &chunked_reply));
  EXPECT_EQ(chunked_reply.rfind("HTTP/1.1 413", 0), 0u) << chunked_reply;
  // A chunked body that goes on far beyond the limit is cut off.
  RawClient endless("127.0.0.1", server_->port());
  endless.Send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 16; ++i) endless.Send("400\r\n" + std::string(1024, 'z') + "\r\n");
  std::string endless_reply;
  EXPECT_TRUE(endless.ReadUntilClosed(std::chrono::seconds(10), &endless_reply));
  // The server still serves.
  auto after = c.Get("/hello");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
}

TEST_F(HttpServerTest, SlowClientsDoNotLockOthersOut) {
  HttpServerOptions options;
  options.threads = 1;
  StartServer(options);
  // More trickling clients than any thread pool would have: each sent half a request line.
  std::vector<std::unique_ptr<RawClient>> slow;
  for (int i = 0; i < 30; ++i) {
    slow.push_back(std::make_unique<RawClient>("127.0.0.1", server_->port()));
    slow.back()->Send("GET /hel");
  }
  auto c = Client();
  for (int i = 0; i < 5; ++i) {
    auto res = c.Get("/hello?name=x");
    ASSERT_TRUE(res) << "request " << i << " failed while slow clients were connected";
    EXPECT_EQ(res->body, "hello x");
  }
}

TEST_F(HttpServerTest, ConnectionsPerAddressAreLimited) {
  HttpServerOptions options;
  options.connections_per_address = 4;
  StartServer(options);
  std::vector<std::unique_ptr<RawClient>> hogs;
  for (int i = 0; i < 4; ++i) {
    hogs.push_back(std::make_unique<RawClient>("127.0.0.2", server_->port()));
    hogs.back()->Send("GET /hello HTTP/1.1\r\nHost: x\r\n");  // headers never finish
  }
  // The fifth from the same address is accepted by the kernel, then closed by the server.
  RawClient fifth("127.0.0.2", server_->port());
  fifth.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string reply;
  EXPECT_TRUE(fifth.ReadUntilClosed(std::chrono::seconds(10), &reply));
  EXPECT_EQ(reply.find("hello"), std::string::npos) << reply;
  // Another address is served.
  auto res = Client().Get("/hello?name=other");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "hello other");
}

TEST_F(HttpServerTest, IdleConnectionsAreClosed) {
  HttpServerOptions options;
  options.idle_timeout_ms = 1000;
  StartServer(options);
  RawClient idle("127.0.0.1", server_->port());
  idle.Send("GET /hello HTTP/1.1\r\n");
  std::string reply;
  EXPECT_TRUE(idle.ReadUntilClosed(std::chrono::seconds(15), &reply));
}

TEST_F(HttpServerTest, SecondServerOnTheSamePortFails) {
  StartServer({});
  HttpServer other(&router_, {});
  absl::Status st = other.Start("127.0.0.1", server_->port());
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
  EXPECT_NE(st.message().find(std::to_string(server_->port())), std::string::npos);
}

}  // namespace
}  // namespace sluice::http
