#include "io/parameters.hpp"

#include "core/error.hpp"
#include "io/archive.hpp"

namespace prism::io {

void save_parameters(const nn::Module& module, const std::string& path) {
  save_tensors(module.named_tensors(), path);
}

void load_parameters(nn::Module& module, const std::string& path) {
  const NamedTensors file = load_tensors(path);
  const NamedTensors model = module.named_tensors();
  // Check everything first, so a mismatch leaves the module untouched.
  std::vector<const Tensor*> source;
  for (const auto& [name, t] : model) {
    const Tensor* found = find_entry(file, name);
    PRISM_CHECK(
        found, "load_parameters: " << path << ": " << name << ": in the model but not in the file");
    PRISM_CHECK(found->shape() == t.shape(),
                "load_parameters: " << path << ": " << name << ": file has "
                                    << to_string(found->shape()) << ", model has "
                                    << to_string(t.shape()));
    source.push_back(found);
  }
  for (const auto& [fname, ft] : file) {
    PRISM_CHECK(
        find_entry(model, fname),
        "load_parameters: " << path << ": " << fname << ": in the file but not in the model");
  }
  for (size_t i = 0; i < model.size(); ++i)
    model[i].second.copy_from(*source[i]);
}

}  // namespace prism::io
