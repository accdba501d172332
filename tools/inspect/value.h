// Value: what an inspect command produces, rendered either as aligned text
// for people or as JSON for scripts (one structure, two renderings, so the
// two never disagree).
//
// Text rules: an object prints "key:  value" lines with keys aligned; an
// array of objects prints a table (columns from the first row's keys); an
// array of scalars prints space-separated. Values are immutable once built.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace cardfs::inspect {

class Value {
 public:
  enum class Kind { kNull, kBool, kInt, kString, kArray, kObject };
  Value() = default;
  Value(bool b) : kind_(Kind::kBool), i_(b) {}
  Value(int v) : kind_(Kind::kInt), i_(v) {}
  Value(int64_t v) : kind_(Kind::kInt), i_(v) {}
  Value(uint64_t v) : kind_(Kind::kInt), i_(int64_t(v)) {}
  Value(uint32_t v) : kind_(Kind::kInt), i_(v) {}
  Value(const char* s) : kind_(Kind::kString), s_(s) {}
  Value(std::string s) : kind_(Kind::kString), s_(std::move(s)) {}
  static Value array() { Value v; v.kind_ = Kind::kArray; return v; }
  static Value object() { Value v; v.kind_ = Kind::kObject; return v; }

  Value& add(std::string key, Value v) {  // objects
    obj_.emplace_back(std::move(key), std::move(v));
    return *this;
  }
  Value& push(Value v) {  // arrays
    arr_.push_back(std::move(v));
    return *this;
  }
  Kind kind() const { return kind_; }
  const std::vector<Value>& items() const { return arr_; }
  const std::vector<std::pair<std::string, Value>>& fields() const { return obj_; }
  const Value* find(const std::string& key) const;

  std::string json() const;
  std::string text() const;
  std::string scalar_text() const;  // a scalar as text ("" for containers)

 private:
  void text_into(std::string& out, int indent) const;
  Kind kind_ = Kind::kNull;
  int64_t i_ = 0;
  std::string s_;
  std::vector<Value> arr_;
  std::vector<std::pair<std::string, Value>> obj_;
};

// "4.0 KiB", "1.5 MiB": sizes for people.
std::string human_bytes(uint64_t bytes);

}  // namespace cardfs::inspect
