// Classifier: a predictor plus softmax cross entropy and accuracy (Chainer's L.Classifier).
//
//   nn::Classifier model(net);
//   Variable loss = model(Variable(x), labels);  // also records loss() and accuracy()
//   loss.backward();
#pragma once

#include "nn/module.hpp"
#include "ops/loss.hpp"

namespace prism::nn {

class Classifier : public Module {
 public:
  // The predictor is the only child ("predictor"), so parameter names read "predictor.0.W".
  explicit Classifier(std::shared_ptr<Module> predictor);

  // The predictor's output (logits [N, classes]).
  Variable forward(const Variable& x) override;
  using Module::operator();
  // softmax_cross_entropy(predictor(x), t); records its value and the accuracy.
  Variable operator()(const Variable& x, const Labels& t);

  // Of the last operator()(x, t) call; an error before the first.
  float loss() const;
  float accuracy() const;

  const std::shared_ptr<Module>& predictor() const { return predictor_; }

 private:
  std::shared_ptr<Module> predictor_;
  float loss_ = 0.0f, accuracy_ = 0.0f;
  bool has_result_ = false;
};

}  // namespace prism::nn
