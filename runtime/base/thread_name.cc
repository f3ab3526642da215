#include "runtime/base/thread_name.h"

#include <pthread.h>

namespace sluice {

std::string TruncateThreadName(std::string_view name) {
  if (name.size() <= kMaxThreadNameBytes) return std::string(name);
  size_t end = kMaxThreadNameBytes;
  // Back off over continuation bytes (10xxxxxx) so a multi-byte character is not split.
  while (end > 0 && (static_cast<unsigned char>(name[end]) & 0xC0) == 0x80) --end;
  return std::string(name.substr(0, end));
}

void SetCurrentThreadName(std::string_view name) {
  const std::string truncated = TruncateThreadName(name);
  (void)pthread_setname_np(pthread_self(), truncated.c_str());
}

std::string CurrentThreadName() {
  char buf[kMaxThreadNameBytes + 1] = {};
  if (pthread_getname_np(pthread_self(), buf, sizeof(buf)) != 0) return "";
  return buf;
}

}  // namespace sluice
