// Value: what an inspect command produces, rendered either as aligned text
// for people or as JSON for scripts (one structure, two renderings, so the
// two never disagree).
//
// JSON (nlohmann-json): numbers are numbers; a quantity with a unit
// (Value::bytes, Value::percent) is a number in JSON, its key suffixed with
// the unit ("capacity" → "capacity_bytes"), and human text ("4.0 GiB",
// "0.1%") in the text rendering.
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
  enum class Kind { kNull, kBool, kInt, kReal, kString, kArray, kObject };
  Value() = default;
  Value(bool b) : kind_(Kind::kBool), i_(b) {}
  Value(int v) : kind_(Kind::kInt), i_(v) {}
  Value(int64_t v) : kind_(Kind::kInt), i_(v) {}
  // Kept as its bits with a flag, so values above INT64_MAX print unsigned.
  Value(uint64_t v) : kind_(Kind::kInt), i_(int64_t(v)), unsigned_(true) {}
  Value(uint32_t v) : kind_(Kind::kInt), i_(v) {}
  Value(double d) : kind_(Kind::kReal), d_(d) {}  // two decimals as text
  Value(const char* s) : kind_(Kind::kString), s_(s) {}
  Value(std::string s) : kind_(Kind::kString), s_(std::move(s)) {}
  // A byte count: "4.0 GiB" as text, 4294967296 under "KEY_bytes" in JSON.
  static Value bytes(uint64_t n) {
    Value v(n);
    v.unit_ = "bytes";
    return v;
  }
  // A percentage: "0.1%" as text, 0.1 under "KEY_percent" in JSON.
  static Value percent(double p) {
    Value v;
    v.kind_ = Kind::kReal;
    v.d_ = p;
    v.unit_ = "percent";
    return v;
  }
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
  int64_t int_value() const { return i_; }
  bool is_unsigned() const { return unsigned_; }
  uint64_t uint_value() const { return uint64_t(i_); }
  double real_value() const { return d_; }
  const std::vector<Value>& items() const { return arr_; }
  const std::vector<std::pair<std::string, Value>>& fields() const { return obj_; }
  const Value* find(const std::string& key) const;

  const std::string& unit() const { return unit_; }  // "" when unitless

  std::string json() const;  // compact, one line
  std::string text() const;
  std::string scalar_text() const;  // a scalar as text ("" for containers)

 private:
  void text_into(std::string& out, int indent) const;
  Kind kind_ = Kind::kNull;
  int64_t i_ = 0;
  bool unsigned_ = false;
  double d_ = 0;
  std::string unit_;
  std::string s_;
  std::vector<Value> arr_;
  std::vector<std::pair<std::string, Value>> obj_;
};

// "4.0 KiB", "1.5 MiB": sizes for people.
std::string human_bytes(uint64_t bytes);

}  // namespace cardfs::inspect
