#pragma once
// Sluice C++ DataStream API: serializers for user types (Flink's TypeSerializer).
//
// State (state.h) and user structs on the network (as kBytes fields) are stored as bytes written
// by TypeSerializer<T>. Provided for the integer types, double, float, bool, std::string and
// std::vector / std::pair of serializable types. A user struct declares its own:
//
//   struct Rule { int64_t threshold; std::string note; };
//   template <> struct sluice::TypeSerializer<Rule> {
//     static void Write(const Rule& r, std::string* out) {
//       sluice::Write(r.threshold, out);
//       sluice::Write(r.note, out);
//     }
//     static bool Read(std::string_view* in, Rule* r) {
//       return sluice::Read(in, &r->threshold) && sluice::Read(in, &r->note);
//     }
//   };
//
// Write appends; Read consumes its bytes from the front of *in and returns false when they are
// malformed or truncated (the engine then fails the task with DataLoss naming the state).
// Encodings are little-endian fixed width; strings and vectors are prefixed with a 32-bit
// length. A serializer's format is part of every checkpoint and savepoint that holds the type:
// change it only with a new state name.
//
// Thread safety: stateless functions.

#include <concepts>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace sluice {

template <typename T>
struct TypeSerializer;

// Arithmetic types: their bytes, little-endian (the engine runs on little-endian hosts only).
template <typename T>
  requires std::is_arithmetic_v<T>
struct TypeSerializer<T> {
  static void Write(const T& v, std::string* out) {
    out->append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  static bool Read(std::string_view* in, T* v) {
    if (in->size() < sizeof(T)) return false;
    std::memcpy(v, in->data(), sizeof(T));
    in->remove_prefix(sizeof(T));
    return true;
  }
};

template <>
struct TypeSerializer<std::string> {
  static void Write(const std::string& v, std::string* out) {
    const uint32_t n = static_cast<uint32_t>(v.size());
    out->append(reinterpret_cast<const char*>(&n), 4);
    out->append(v);
  }
  static bool Read(std::string_view* in, std::string* v) {
    uint32_t n = 0;
    if (!TypeSerializer<uint32_t>::Read(in, &n) || in->size() < n) return false;
    v->assign(in->data(), n);
    in->remove_prefix(n);
    return true;
  }
};

template <typename T>
struct TypeSerializer<std::vector<T>> {
  static void Write(const std::vector<T>& v, std::string* out) {
    const uint32_t n = static_cast<uint32_t>(v.size());
    out->append(reinterpret_cast<const char*>(&n), 4);
    for (const T& e : v) TypeSerializer<T>::Write(e, out);
  }
  static bool Read(std::string_view* in, std::vector<T>* v) {
    uint32_t n = 0;
    if (!TypeSerializer<uint32_t>::Read(in, &n)) return false;
    v->clear();
    for (uint32_t i = 0; i < n; ++i) {
      T e{};
      if (!TypeSerializer<T>::Read(in, &e)) return false;
      v->push_back(std::move(e));
    }
    return true;
  }
};

template <typename A, typename B>
struct TypeSerializer<std::pair<A, B>> {
  static void Write(const std::pair<A, B>& v, std::string* out) {
    TypeSerializer<A>::Write(v.first, out);
    TypeSerializer<B>::Write(v.second, out);
  }
  static bool Read(std::string_view* in, std::pair<A, B>* v) {
    return TypeSerializer<A>::Read(in, &v->first) && TypeSerializer<B>::Read(in, &v->second);
  }
};

// A type with a TypeSerializer.
template <typename T>
concept Serializable = requires(const T& v, std::string* out, std::string_view* in, T* p) {
  TypeSerializer<T>::Write(v, out);
  { TypeSerializer<T>::Read(in, p) } -> std::same_as<bool>;
};

// Shorthands for writing serializers.
template <Serializable T>
void Write(const T& v, std::string* out) {
  TypeSerializer<T>::Write(v, out);
}
template <Serializable T>
bool Read(std::string_view* in, T* v) {
  return TypeSerializer<T>::Read(in, v);
}

// The whole of `bytes` as one T: false when malformed or when bytes are left over.
template <Serializable T>
bool Decode(std::string_view bytes, T* v) {
  return TypeSerializer<T>::Read(&bytes, v) && bytes.empty();
}
template <Serializable T>
std::string Encode(const T& v) {
  std::string out;
  TypeSerializer<T>::Write(v, &out);
  return out;
}

}  // namespace sluice
