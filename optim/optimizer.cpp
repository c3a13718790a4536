#include "optim/optimizer.hpp"

#include <cmath>

namespace prism::optim {

Optimizer::Optimizer(NamedParameters params, float lr, std::vector<std::string> slot_names)
    : params_(std::move(params)), slot_names_(std::move(slot_names)) {
  set_lr(lr);
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& [name, p] = params_[i];
    PRISM_CHECK(p.defined(), "Optimizer: parameter '" << name << "' is undefined");
    // A parameter listed twice would be updated twice per step.
    for (size_t j = 0; j < i; ++j) {
      PRISM_CHECK(params_[j].first != name, "Optimizer: parameter name '" << name << "' twice");
      PRISM_CHECK(!params_[j].second.same_node(p), "Optimizer: parameters '"
                                                       << params_[j].first << "' and '" << name
                                                       << "' are the same variable");
    }
    ParamState s;
    for (size_t k = 0; k < slot_names_.size(); ++k)
      s.slots.emplace_back(p.shape());
    states_.push_back(std::move(s));
  }
}

void Optimizer::set_lr(float lr) {
  PRISM_CHECK(lr >= 0.0f && std::isfinite(lr),
              "Optimizer: learning rate must be finite and >= 0, got " << lr);
  lr_ = lr;
}

void Optimizer::set_weight_decay(float rate) {
  PRISM_CHECK(rate >= 0.0f && std::isfinite(rate),
              "Optimizer: weight decay must be finite and >= 0, got " << rate);
  weight_decay_ = rate;
}

void Optimizer::add_hook(Hook hook) {
  PRISM_CHECK(hook != nullptr, "Optimizer: empty hook");
  hooks_.push_back(std::move(hook));
}

void Optimizer::update() {
  for (const Hook& hook : hooks_)
    hook(params_);
  ++t_;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Variable& p = params_[i].second;
    if (!p.has_grad()) continue;
    ParamState& s = states_[i];
    update_one(p.data(), p.grad(), s.slots, ++s.t);
  }
}

NamedTensors Optimizer::state() const {
  NamedTensors out;
  out.emplace_back("t", Tensor::scalar(static_cast<float>(t_)));
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string& name = params_[i].first;
    out.emplace_back(name + "/t", Tensor::scalar(static_cast<float>(states_[i].t)));
    for (size_t k = 0; k < slot_names_.size(); ++k)
      out.emplace_back(name + "/" + slot_names_[k], states_[i].slots[k].clone());
  }
  return out;
}

void Optimizer::load_state(const NamedTensors& state) {
  const NamedTensors expected = this->state();
  PRISM_CHECK(state.size() == expected.size(), "Optimizer: load_state got " << state.size()
                                                                            << " entries, expected "
                                                                            << expected.size());
  for (size_t i = 0; i < state.size(); ++i) {
    const auto& [name, value] = state[i];
    PRISM_CHECK(name == expected[i].first, "Optimizer: load_state entry "
                                               << i << " is '" << name << "', expected '"
                                               << expected[i].first << "'");
    PRISM_CHECK(value.defined() && value.shape() == expected[i].second.shape(),
                "Optimizer: load_state '" << name << "' has shape " << shape_string(value)
                                          << ", expected "
                                          << to_string(expected[i].second.shape()));
  }
  auto count = [](const Tensor& t) {
    const float v = t.item();
    PRISM_CHECK(v >= 0.0f && v == std::floor(v) && v <= 16777216.0f,
                "Optimizer: load_state count " << v << " is not a whole number >= 0");
    return static_cast<int64_t>(v);
  };
  // Entry 0 is "t"; parameter i's "<name>/t" is at first(i), its slots right after it.
  const size_t per_param = 1 + slot_names_.size();
  auto first = [&](size_t i) { return 1 + i * per_param; };
  // The counts are validated too before anything changes.
  std::vector<int64_t> counts{count(state[0].second)};
  for (size_t i = 0; i < params_.size(); ++i)
    counts.push_back(count(state[first(i)].second));
  t_ = counts[0];
  for (size_t i = 0; i < params_.size(); ++i) {
    states_[i].t = counts[i + 1];
    for (size_t k = 0; k < slot_names_.size(); ++k)
      states_[i].slots[k].copy_from(state[first(i) + 1 + k].second);
  }
}

}  // namespace prism::optim
