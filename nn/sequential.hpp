// Sequential: runs its children in order (Chainer's Sequential).
//
//   auto net = std::make_shared<nn::Sequential>();
//   net->add(std::make_shared<nn::Convolution2D>(1, 16, 5, 1, 2));
//   net->add(relu);                                                  // a stateless op
//   net->add([](const Variable& x) { return max_pooling_2d(x, 2); });
//   net->add(std::make_shared<nn::Linear>(16 * 14 * 14, 10));        // flattens its input
//
// Children are named "0", "1", ... in the order added, stateless ops included, so parameter
// names ("0.W", "3.b") follow the positions in the chain.
#pragma once

#include <functional>

#include "nn/module.hpp"

namespace prism::nn {

using Function = std::function<Variable(const Variable&)>;

// A module without parameters that applies a function, such as relu or a pooling lambda.
class Lambda : public Module {
 public:
  explicit Lambda(Function f);
  Variable forward(const Variable& x) override { return f_(x); }

 private:
  Function f_;
};

class Sequential : public Module {
 public:
  void add(std::shared_ptr<Module> module);
  void add(Function f);  // wrapped in a Lambda

  // The children in order; an empty Sequential is the identity.
  Variable forward(const Variable& x) override;

  size_t size() const { return named_children().size(); }
};

}  // namespace prism::nn
