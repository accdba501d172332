#include "tools/inspect/value.h"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace cardfs::inspect {

namespace {

bool is_container(const Value& v) {
  return v.kind() == Value::Kind::kObject ||
         (v.kind() == Value::Kind::kArray && !v.items().empty() &&
          v.items().front().kind() == Value::Kind::kObject);
}

// An array of objects; `flat`: no cell holds records of its own.
bool is_table(const Value& v, bool flat = false) {
  return v.kind() == Value::Kind::kArray && !v.items().empty() &&
         std::all_of(v.items().begin(), v.items().end(), [flat](const Value& r) {
           return r.kind() == Value::Kind::kObject &&
                  (!flat || std::none_of(r.fields().begin(), r.fields().end(),
                                         [](const auto& f) { return is_container(f.second); }));
         });
}

void table_into(const Value& v, std::string& out, int indent) {
  const auto& first = v.items().front().fields();
  std::vector<size_t> width;
  for (const auto& [k, _] : first) width.push_back(k.size());
  for (const Value& row : v.items())
    for (size_t c = 0; c < first.size(); ++c)
      if (const Value* cell = row.find(first[c].first))
        width[c] = std::max(width[c], cell->scalar_text().size());
  auto line = [&](auto cell_text) {
    std::string l(size_t(indent), ' ');
    for (size_t c = 0; c < first.size(); ++c) {
      std::string t = cell_text(c);
      l += t + std::string(width[c] - t.size() + (c + 1 < first.size() ? 2 : 0), ' ');
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + "\n";
  };
  line([&](size_t c) { return first[c].first; });
  for (const Value& row : v.items())
    line([&](size_t c) {
      const Value* cell = row.find(first[c].first);
      return cell ? cell->scalar_text() : std::string();
    });
}

}  // namespace

const Value* Value::find(const std::string& key) const {
  for (const auto& [k, v] : obj_)
    if (k == key) return &v;
  return nullptr;
}

std::string Value::scalar_text() const {
  switch (kind_) {
    case Kind::kNull: return "-";
    case Kind::kBool: return i_ ? "yes" : "no";
    case Kind::kInt:
      if (unit_ == "bytes") return human_bytes(uint64_t(i_));
      return unsigned_ ? std::to_string(uint64_t(i_)) : std::to_string(i_);
    case Kind::kReal: {
      char buf[32];
      std::snprintf(buf, sizeof buf, unit_ == "percent" ? "%.1f%%" : "%.2f", d_);
      return buf;
    }
    case Kind::kString: return s_;
    case Kind::kArray: {
      std::string out;
      for (const Value& v : arr_) out += (out.empty() ? "" : " ") + v.scalar_text();
      return out;
    }
    default: return "";
  }
}

namespace {

// The key a field has in JSON: with its unit, once ("size" → "size_bytes").
std::string json_key(const std::string& key, const Value& v) {
  if (v.unit().empty() || key.ends_with("_" + v.unit())) return key;
  return key + "_" + v.unit();
}

}  // namespace

// ordered_json keeps the fields in the order the command added them, as
// the text rendering does.
static nlohmann::ordered_json to_json(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNull: return nullptr;
    case Value::Kind::kBool: return v.scalar_text() == "yes";
    case Value::Kind::kInt:
      if (v.is_unsigned()) return v.uint_value();
      return v.int_value();
    case Value::Kind::kReal: return v.real_value();
    case Value::Kind::kString: return v.scalar_text();
    case Value::Kind::kArray: {
      nlohmann::ordered_json a = nlohmann::ordered_json::array();
      for (const Value& item : v.items()) a.push_back(to_json(item));
      return a;
    }
    case Value::Kind::kObject: {
      nlohmann::ordered_json o = nlohmann::ordered_json::object();
      for (const auto& [k, field] : v.fields()) o[json_key(k, field)] = to_json(field);
      return o;
    }
  }
  return nullptr;
}

std::string Value::json() const { return to_json(*this).dump(); }

void Value::text_into(std::string& out, int indent) const {
  const std::string pad(size_t(indent), ' ');
  if (is_table(*this, /*flat=*/true)) return table_into(*this, out, indent);
  if (is_table(*this)) {  // records holding records: one block each
    for (const Value& row : arr_) {
      out += pad + "-\n";
      row.text_into(out, indent + 2);
    }
    return;
  }
  if (kind_ != Kind::kObject) {
    out += pad + scalar_text() + "\n";
    return;
  }
  size_t w = 0;
  for (const auto& [k, v] : obj_) w = std::max(w, k.size());
  for (const auto& [k, v] : obj_) {
    const bool nested = v.kind() == Kind::kObject || is_table(v);
    if (nested) {
      out += pad + k + ":\n";
      v.text_into(out, indent + 2);
    } else {
      out += pad + k + ":" + std::string(w - k.size() + 2, ' ') + v.scalar_text() + "\n";
    }
  }
}

std::string Value::text() const {
  std::string out;
  text_into(out, 0);
  return out;
}

std::string human_bytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = double(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof buf, "%llu B", (unsigned long long)bytes);
  else std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  return buf;
}

}  // namespace cardfs::inspect
