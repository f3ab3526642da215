#pragma once
// "host:port" strings as gRPC targets and listening addresses take them: an IPv6 literal is
// bracketed ("[::1]:6123"), names and IPv4 addresses are not. A host already in brackets is
// kept as it is.

#include <string>
#include <string_view>

#include "fmt/format.h"

namespace sluice {

inline std::string JoinHostPort(std::string_view host, int port) {
  const bool ipv6 = host.find(':') != std::string_view::npos && !host.starts_with('[');
  return ipv6 ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
}

}  // namespace sluice
