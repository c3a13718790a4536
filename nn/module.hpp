// Module: the base of every layer and model (Chainer's Link/Chain, PyTorch's nn.Module).
//
// A module owns named parameters (Variables that require grad and that optimizers update),
// named buffers (Tensors of state that is saved but not trained, such as batch normalization's
// running statistics) and named child modules. Names are local ("W", "conv1"); the recursive
// listings join them with dots ("conv1.W", "0.b"). Within one module the names of parameters,
// buffers and children share one namespace: each must be non-empty, unique and free of dots,
// so every dotted name in a tree is unique too.
//
// Modules are not copyable; models hold their children through std::shared_ptr.
//
//   class Mlp : public nn::Module {
//    public:
//     Mlp() {
//       fc1_ = register_module("fc1", std::make_shared<nn::Linear>(784, 100));
//       fc2_ = register_module("fc2", std::make_shared<nn::Linear>(100, 10));
//     }
//     Variable forward(const Variable& x) override { return (*fc2_)(relu((*fc1_)(x))); }
//    private:
//     std::shared_ptr<nn::Linear> fc1_, fc2_;
//   };
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/autograd.hpp"
#include "core/rng.hpp"

namespace prism::nn {

// Where a partitioned module's entry (a parameter or buffer) lies in the full model's tensor:
// this rank holds the channels of `shard` along `axis` (an unsharded shard: all of it).
struct EntrySlice {
  std::string name;
  int64_t axis = 0;
  ChannelShard shard;
};

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  virtual Variable forward(const Variable& x) = 0;
  Variable operator()(const Variable& x) { return forward(x); }

  // Own entries first, in registration order, then each child's, in registration order.
  NamedParameters named_parameters() const;
  std::vector<Variable> parameters() const;
  NamedTensors named_buffers() const;  // handles: writing into them changes the module
  // The parameters' tensors then the buffers, as a parameter file holds them (handles).
  NamedTensors named_tensors() const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const {
    return children_;
  }
  std::vector<std::shared_ptr<Module>> children() const;

  // Model parallelism: true for a module whose own parameters and buffers are this rank's
  // slice (ParallelConvolution2D); everything else is replicated, equal on every rank.
  virtual bool partitioned() const { return false; }
  // named_parameters() and named_buffers() without the partitioned modules' own entries.
  NamedParameters named_replicated_parameters() const;
  NamedTensors named_replicated_buffers() const;
  // A partitioned module's own entries (local names) that are slices of the full model's
  // tensors, so that a file can hold the full tensor whatever the rank count. An entry it does
  // not list is its rank's alone (the seed partition's weights: a grouped convolution's).
  virtual std::vector<EntrySlice> entry_slices() const { return {}; }
  // entry_slices() of every partitioned module below and at this one, with dotted names.
  std::vector<EntrySlice> named_entry_slices() const;

  // Training mode (the default) versus evaluation mode, for this module and all below it.
  // Layers such as Dropout and BatchNormalization behave differently in each.
  void train(bool on = true);
  void eval() { train(false); }
  bool training() const { return training_; }

  // Drops the gradient of every parameter (gradients accumulate across backward calls).
  void zero_grad() const;

 protected:
  // A new leaf that requires grad, holding `init`.
  Variable register_parameter(std::string name, Tensor init);
  // Returns `value` (the same handle), so a layer can keep it as a member.
  Tensor register_buffer(std::string name, Tensor value);
  template <class M>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> module) {
    add_child(std::move(name), module);
    return module;
  }

 private:
  void check_new_name(const std::string& name) const;
  void add_child(std::string name, std::shared_ptr<Module> module);
  void collect_parameters(const std::string& prefix, bool replicated_only,
                          NamedParameters& out) const;
  void collect_buffers(const std::string& prefix, bool replicated_only, NamedTensors& out) const;
  void collect_slices(const std::string& prefix, std::vector<EntrySlice>& out) const;

  NamedParameters params_;
  NamedTensors buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// LeCun normal initialization (Chainer's default for Linear and Convolution2D): a tensor of
// `shape` drawn from N(0, 1 / fan_in), fan_in > 0.
Tensor lecun_normal(Shape shape, int64_t fan_in, Rng& rng = global_rng());

}  // namespace prism::nn
