// Define-by-run autograd. A Variable is a handle to a node holding a value, its gradient,
// and, for results of ops, the inputs and a backward function (Flashlight style):
//
//   Variable relu(const Variable& x) {
//     Tensor y = ...forward...;
//     return Variable::make(y, {x}, [y](std::vector<Variable>& in, const Tensor& gy) {
//       in[0].add_grad(...);
//     });
//   }
//
// backward() walks the graph once in reverse topological order, accumulating gradients
// (a value used twice gets the sum), then releases the graph: non-leaf nodes drop their
// inputs, backward functions and gradients, so only leaves keep .grad().
//
// Memory: the graph keeps what backward functions captured, not every intermediate value. Once
// no Variable of the program refers to an op's result (only the graph does, as some op's
// input), its values are released; an op whose backward needs its input captures that Tensor.
// So a chain like conv -> batch norm -> dropout holds the conv's output (batch norm needs it)
// and the dropout's (the next conv needs it), but not the batch norm's.
//
// Channel sharding: a Variable may say that it holds only some channels of a full tensor
// (shard(), a ChannelShard). An op's result holds what its inputs hold: the shard that its
// sharded inputs share (inputs that are not sharded, such as a batch norm's gamma, are local
// values), and two different shards among the inputs are an error. Ops that mix channels or
// need all of them (flatten, reshape, linear, conv2d, the loss, reductions) refuse sharded
// input by name (check_unsharded); ops that move shards are in dist::functions.
//
// The contract with an op's backward function: it runs once per node that requires grad, after
// every gradient has reached the node, with all of the node's inputs. add_grad on an input that
// requires no gradient does nothing, so correctness never depends on checking; an op with
// several inputs checks in[k].requires_grad() only to skip computing a gradient nobody wants.
// (An op with one input needs no check: its node requires grad only because that input does.)
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.hpp"

namespace prism {

class Variable;
using BackwardFn = std::function<void(std::vector<Variable>& inputs, const Tensor& grad_output)>;

class Variable {
 public:
  Variable() = default;  // undefined (e.g. "no bias")
  explicit Variable(Tensor data, bool requires_grad = false);
  Variable(const Variable& other);
  Variable(Variable&& other) noexcept;
  Variable& operator=(const Variable& other);
  Variable& operator=(Variable&& other) noexcept;
  ~Variable();

  // The result of an op: it requires grad when grad mode is on and any input does. Its shard is
  // the inputs' (see above) unless `shard` is given.
  static Variable make(Tensor data, std::vector<Variable> inputs, BackwardFn backward,
                       std::optional<ChannelShard> shard = std::nullopt);

  bool defined() const { return node_ != nullptr; }
  // The values, as a handle (a Tensor shares storage with its copies): writing through it
  // changes this variable, which is how optimizers update parameters in place. clone() it for
  // a copy of one's own. An error for an intermediate whose values were released (see above).
  Tensor data() const;
  const Shape& shape() const;
  bool requires_grad() const;
  void set_requires_grad(bool on);
  bool is_leaf() const;
  const ChannelShard& shard() const;  // ChannelShard{} (every channel) unless an op set it

  const Tensor& grad() const;  // undefined until a backward reaches this variable
  bool has_grad() const { return grad().defined(); }
  // Accumulates g (its shape must match data()); nothing happens when this variable does not
  // require grad. The first gradient is kept as it is when g is the only handle to its storage
  // (pass std::move(g)), and copied otherwise: an op may hand one tensor to two inputs.
  void add_grad(Tensor g) const;
  void zero_grad() const;  // drops the gradient

  // Backward from a one-element variable (seed 1), or from any variable with a given seed.
  void backward() const;
  void backward(const Tensor& grad_output) const;

  // A leaf's gradient-ready hook (PyTorch's post-accumulate-grad hook): backward() calls it
  // once this leaf's gradient is complete for that backward, as soon as the last op that uses
  // the leaf has run its backward, while the rest of backward still runs (data parallelism
  // starts a gradient's allreduce there). It is called only when the leaf is in the graph that
  // backward walks and requires grad. One hook per leaf: a new one replaces it, nullptr removes it.
  void set_grad_hook(std::function<void()> hook) const;
  bool has_grad_hook() const;

  Variable detach() const { return Variable(data(), false); }  // shares data, no graph
  bool same_node(const Variable& other) const { return node_ == other.node_; }

 private:
  struct Node;
  void add_user() const;
  void drop_user() const;
  std::shared_ptr<Node> node_;
  // A graph edge (an entry of a node's inputs) rather than the program's handle: edges do not
  // keep an intermediate's values alive. Copies are always the program's.
  bool edge_ = false;
};

// Parameters by name ("conv1.W", ...): what a module exposes and an optimizer updates.
using NamedParameters = std::vector<std::pair<std::string, Variable>>;

// "[2, 3]" for error messages, or "undefined" for an undefined variable.
inline std::string shape_string(const Variable& v) {
  return v.defined() ? to_string(v.shape()) : "undefined";
}

// For ops that need every channel of x: an error naming `op` and what x holds when x is
// channel-sharded.
void check_unsharded(const Variable& x, const char* op);

// Grad mode is per thread. While a NoGradGuard lives, ops record no graph.
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace prism
