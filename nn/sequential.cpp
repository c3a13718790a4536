#include "nn/sequential.hpp"

namespace prism::nn {

Lambda::Lambda(Function f) : f_(std::move(f)) {
  PRISM_CHECK(f_ != nullptr, "Lambda: empty function");
}

void Sequential::add(std::shared_ptr<Module> module) {
  register_module(std::to_string(size()), std::move(module));
}

void Sequential::add(Function f) {
  add(std::make_shared<Lambda>(std::move(f)));
}

Variable Sequential::forward(const Variable& x) {
  Variable h = x;
  for (auto& [name, child] : named_children())
    h = (*child)(h);
  return h;
}

}  // namespace prism::nn
