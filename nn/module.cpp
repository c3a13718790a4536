#include "nn/module.hpp"

#include <cmath>

namespace prism::nn {

NamedParameters Module::named_parameters() const {
  NamedParameters out;
  collect_parameters("", false, out);
  return out;
}

NamedParameters Module::named_replicated_parameters() const {
  NamedParameters out;
  collect_parameters("", true, out);
  return out;
}

std::vector<Variable> Module::parameters() const {
  std::vector<Variable> out;
  for (auto& [name, p] : named_parameters())
    out.push_back(p);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect_buffers("", false, out);
  return out;
}

NamedTensors Module::named_replicated_buffers() const {
  NamedTensors out;
  collect_buffers("", true, out);
  return out;
}

NamedTensors Module::named_tensors() const {
  NamedTensors out;
  for (const auto& [name, p] : named_parameters())
    out.emplace_back(name, p.data());
  for (auto& entry : named_buffers())
    out.push_back(std::move(entry));
  return out;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (auto& [name, child] : children_)
    out.push_back(child);
  return out;
}

std::vector<EntrySlice> Module::named_entry_slices() const {
  std::vector<EntrySlice> out;
  collect_slices("", out);
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_)
    child->train(on);
}

void Module::zero_grad() const {
  for (auto& [name, p] : named_parameters())
    p.zero_grad();
}

Variable Module::register_parameter(std::string name, Tensor init) {
  check_new_name(name);
  PRISM_CHECK(init.defined(), "Module: parameter '" << name << "' has no data");
  Variable p(std::move(init), /*requires_grad=*/true);
  params_.emplace_back(std::move(name), p);
  return p;
}

Tensor Module::register_buffer(std::string name, Tensor value) {
  check_new_name(name);
  PRISM_CHECK(value.defined(), "Module: buffer '" << name << "' has no data");
  buffers_.emplace_back(std::move(name), value);
  return value;
}

void Module::add_child(std::string name, std::shared_ptr<Module> module) {
  check_new_name(name);
  PRISM_CHECK(module != nullptr, "Module: child module '" << name << "' is null");
  PRISM_CHECK(module.get() != this, "Module: child module '" << name << "' is the module itself");
  children_.emplace_back(std::move(name), std::move(module));
}

void Module::check_new_name(const std::string& name) const {
  PRISM_CHECK(!name.empty(), "Module: a parameter, buffer or child needs a non-empty name");
  PRISM_CHECK(name.find('.') == std::string::npos,
              "Module: name '" << name << "' contains '.', which separates nested names");
  auto taken = [&](const auto& entries) {
    for (auto& entry : entries)
      if (entry.first == name) return true;
    return false;
  };
  PRISM_CHECK(!taken(params_) && !taken(buffers_) && !taken(children_),
              "Module: name '" << name << "' is already registered");
}

void Module::collect_parameters(const std::string& prefix, bool replicated_only,
                                NamedParameters& out) const {
  if (!(replicated_only && partitioned()))
    for (auto& [name, p] : params_)
      out.emplace_back(prefix + name, p);
  for (auto& [name, child] : children_)
    child->collect_parameters(prefix + name + ".", replicated_only, out);
}

void Module::collect_buffers(const std::string& prefix, bool replicated_only,
                             NamedTensors& out) const {
  if (!(replicated_only && partitioned()))
    for (auto& [name, b] : buffers_)
      out.emplace_back(prefix + name, b);
  for (auto& [name, child] : children_)
    child->collect_buffers(prefix + name + ".", replicated_only, out);
}

void Module::collect_slices(const std::string& prefix, std::vector<EntrySlice>& out) const {
  if (partitioned())
    for (EntrySlice slice : entry_slices()) {
      slice.name = prefix + slice.name;
      out.push_back(std::move(slice));
    }
  for (auto& [name, child] : children_)
    child->collect_slices(prefix + name + ".", out);
}

Tensor lecun_normal(Shape shape, int64_t fan_in, Rng& rng) {
  PRISM_CHECK(fan_in > 0, "lecun_normal: fan_in must be positive, got " << fan_in);
  Tensor t(std::move(shape));
  rng.fill_normal(t, 0.0f, static_cast<float>(std::sqrt(1.0 / static_cast<double>(fan_in))));
  return t;
}

}  // namespace prism::nn
