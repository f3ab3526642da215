#pragma once
// Buffer: a growable byte buffer for column data, 64-byte aligned (Arrow's recommended buffer
// alignment, so a buffer can be read as any fixed-width type and by SIMD loads). clear() and
// shrinking resize() keep the capacity, so a buffer reused batch after batch allocates nothing
// in steady state. Growth doubles the capacity.
//
// Thread safety: none; owned by one column of one batch.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace sluice::core {

class Buffer {
 public:
  static constexpr size_t kAlignment = 64;

  Buffer() = default;
  ~Buffer() { std::free(data_); }
  Buffer(const Buffer& o) { Assign(o.data_, o.size_); }
  Buffer& operator=(const Buffer& o) {
    if (this != &o) Assign(o.data_, o.size_);
    return *this;
  }
  Buffer(Buffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        capacity_(std::exchange(o.capacity_, 0)) {}
  Buffer& operator=(Buffer&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    std::swap(capacity_, o.capacity_);
    return *this;
  }

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  template <typename T>
  T* as() { return reinterpret_cast<T*>(data_); }
  template <typename T>
  const T* as() const { return reinterpret_cast<const T*>(data_); }

  void clear() { size_ = 0; }
  void reserve(size_t n) {
    if (n > capacity_) Grow(n);
  }
  // Resizes to `n` bytes; bytes past the old size are zero.
  void resize(size_t n) {
    if (n > size_) {
      reserve(n);
      std::memset(data_ + size_, 0, n - size_);
    }
    size_ = n;
  }
  // Resizes to `n` bytes leaving new bytes unspecified (the caller writes them).
  void resize_uninitialized(size_t n) {
    reserve(n);
    size_ = n;
  }
  void append(const void* p, size_t n) {
    if (n == 0) return;
    reserve(size_ + n);
    std::memcpy(data_ + size_, p, n);
    size_ += n;
  }
  void Assign(const void* p, size_t n) {
    size_ = 0;
    append(p, n);
  }

 private:
  void Grow(size_t n) {
    size_t cap = capacity_ ? capacity_ : kAlignment;
    while (cap < n) cap *= 2;
    void* p = std::aligned_alloc(kAlignment, cap);
    if (p == nullptr) throw std::bad_alloc();
    if (size_) std::memcpy(p, data_, size_);
    std::free(data_);
    data_ = static_cast<uint8_t*>(p);
    capacity_ = cap;
  }

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace sluice::core
