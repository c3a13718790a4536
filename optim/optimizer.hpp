// Optimizer: updates parameters from their gradients (Chainer's GradientMethod).
//
//   optim::MomentumSGD optimizer(model.named_parameters(), /*lr=*/0.01f);
//   optimizer.set_weight_decay(5e-4f);
//   for (...) {
//     model.zero_grad();         // update() leaves gradients as they are: they accumulate
//     loss(...).backward();      // until zero_grad(), so clear them before each backward
//     optimizer.update();
//   }
//
// update() runs the hooks in the order added (they may change gradients), then each
// parameter's rule, one fused pass per parameter: weight decay, the rule's slots and the step. A
// parameter without a gradient is skipped: neither it nor its state changes. Each parameter counts
// its own updates (Chainer's UpdateRule.t), which Adam's bias correction uses.
//
// state() names every piece of state for snapshots: "t" (the optimizer's update count),
// "<param>/t" (the parameter's update count) and "<param>/<slot>" (e.g. "0.W/v" of
// MomentumSGD, "0.W/m" and "0.W/v" of Adam). Counts are stored as floats, exact up to 2^24.
// The learning rate and other hyperparameters are not state: they come from the program.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/autograd.hpp"

namespace prism::optim {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  void update();

  // Called with the parameters at the start of every update(), before the rules.
  using Hook = std::function<void(const NamedParameters&)>;
  void add_hook(Hook hook);

  int64_t t() const { return t_; }  // update() calls so far
  const NamedParameters& named_parameters() const { return params_; }

  // The learning rate (Adam's alpha); settable, e.g. by a schedule. Must be >= 0.
  float lr() const { return lr_; }
  void set_lr(float lr);

  // L2 regularization: each rule sees grad + rate * param (0 by default; finite, >= 0). The sum
  // is formed inside the rule's pass, after the hooks; the stored gradient stays as it was.
  float weight_decay() const { return weight_decay_; }
  void set_weight_decay(float rate);

  NamedTensors state() const;  // copies
  // Restores what state() returned; names and shapes must match exactly. Checks all before
  // changing anything.
  void load_state(const NamedTensors& state);

 protected:
  // `slot_names`: the rule's per-parameter tensors, zeros of the parameter's shape at first.
  Optimizer(NamedParameters params, float lr, std::vector<std::string> slot_names);

  // One parameter's rule, in place. `slots` in the order named; `t` counts this parameter's
  // updates, this one included (so 1 on the first).
  virtual void update_one(const Tensor& param, const Tensor& grad, const std::vector<Tensor>& slots,
                          int64_t t) = 0;

 private:
  struct ParamState {
    int64_t t = 0;
    std::vector<Tensor> slots;
  };

  NamedParameters params_;
  std::vector<std::string> slot_names_;
  std::vector<ParamState> states_;
  std::vector<Hook> hooks_;
  float lr_;
  float weight_decay_ = 0.0f;
  int64_t t_ = 0;
};

}  // namespace prism::optim
