#include "nn/classifier.hpp"

namespace prism::nn {

Classifier::Classifier(std::shared_ptr<Module> predictor)
    : predictor_(register_module("predictor", std::move(predictor))) {}

Variable Classifier::forward(const Variable& x) {
  return (*predictor_)(x);
}

Variable Classifier::operator()(const Variable& x, const Labels& t) {
  Variable y = forward(x);
  Variable loss = softmax_cross_entropy(y, t);
  loss_ = loss.data().item();
  accuracy_ = prism::accuracy(y, t);
  has_result_ = true;
  return loss;
}

float Classifier::loss() const {
  PRISM_CHECK(has_result_, "Classifier: loss() before any call with labels");
  return loss_;
}

float Classifier::accuracy() const {
  PRISM_CHECK(has_result_, "Classifier: accuracy() before any call with labels");
  return accuracy_;
}

}  // namespace prism::nn
