#include "core/autograd.hpp"

#include <atomic>
#include <unordered_set>
#include <utility>

#include "core/profiler.hpp"

namespace prism {

struct Variable::Node {
  Tensor data;  // undefined once released
  Shape shape;  // data's, kept when data is released
  Tensor grad;
  bool requires_grad = false;
  std::vector<Variable> inputs;     // empty for leaves
  BackwardFn backward;              // null for leaves
  const char* op = nullptr;         // the profiler's name for the op that made it
  ChannelShard shard;               // which channels of a full tensor data holds
  bool released = false;            // backward already ran through this non-leaf node
  std::function<void()> grad_hook;  // a leaf's, see set_grad_hook
  int64_t pending_users = 0;        // during backward: a hooked leaf's users yet to run
  std::atomic<int64_t> users{0};    // the program's Variables (not graph edges) on this node
};

namespace {
thread_local bool g_grad_enabled = true;
}

bool grad_enabled() {
  return g_grad_enabled;
}
NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) {
  g_grad_enabled = false;
}
NoGradGuard::~NoGradGuard() {
  g_grad_enabled = previous_;
}

Variable::Variable(Tensor data, bool requires_grad) : node_(std::make_shared<Node>()) {
  PRISM_CHECK(data.defined(), "Variable: data tensor is undefined");
  node_->shape = data.shape();
  node_->data = std::move(data);
  node_->requires_grad = requires_grad;
  node_->users = 1;
}

// Every copy, and every move, is the program's handle, even of a graph edge (a backward
// function may copy or move one of its inputs).
Variable::Variable(const Variable& other) : node_(other.node_) {
  add_user();
}
Variable::Variable(Variable&& other) noexcept : node_(std::move(other.node_)) {
  if (std::exchange(other.edge_, false)) add_user();  // else the count moves with the handle
}
Variable& Variable::operator=(const Variable& other) {
  return *this = Variable(other);
}
Variable& Variable::operator=(Variable&& other) noexcept {
  if (this != &other) {
    drop_user();
    node_ = std::move(other.node_);
    edge_ = false;
    if (std::exchange(other.edge_, false)) add_user();
  }
  return *this;
}
Variable::~Variable() {
  drop_user();
}

void Variable::add_user() const {
  if (node_ && !edge_) ++node_->users;
}

// The last of the program's handles on an op's result: from now on only backward functions
// use it, through what they captured.
void Variable::drop_user() const {
  if (node_ && !edge_ && --node_->users == 0 && node_->backward) node_->data = Tensor();
}

Variable Variable::make(Tensor data, std::vector<Variable> inputs, BackwardFn backward,
                        std::optional<ChannelShard> shard) {
  Variable out(std::move(data), false);
  if (!shard) {
    shard = ChannelShard{};
    for (const Variable& v : inputs) {
      if (!v.defined() || !v.shard().sharded()) continue;
      PRISM_CHECK(!shard->sharded() || *shard == v.shard(),
                  (profile::current_op() ? profile::current_op() : "an op")
                      << ": inputs hold different channels, " << to_string(*shard) << " and "
                      << to_string(v.shard()));
      shard = v.shard();
    }
  }
  out.node_->shard = *shard;
  if (!g_grad_enabled) return out;
  bool any = false;
  for (const Variable& v : inputs)
    any = any || (v.defined() && v.requires_grad());
  if (!any) return out;
  out.node_->requires_grad = true;
  for (Variable& v : inputs) {  // the program's handles become the graph's edges
    v.drop_user();
    v.edge_ = true;
  }
  out.node_->inputs = std::move(inputs);
  out.node_->backward = std::move(backward);
  out.node_->op = profile::current_op();
  return out;
}

Tensor Variable::data() const {
  PRISM_CHECK(defined(), "Variable: use of an undefined variable");
  PRISM_CHECK(node_->data.defined(),
              "Variable: the values of this intermediate result were released when the program "
              "kept no Variable of it (the graph keeps only what backward needs)");
  return node_->data;
}

const Shape& Variable::shape() const {
  PRISM_CHECK(defined(), "Variable: use of an undefined variable");
  return node_->shape;
}

const ChannelShard& Variable::shard() const {
  PRISM_CHECK(defined(), "Variable: use of an undefined variable");
  return node_->shard;
}

void check_unsharded(const Variable& x, const char* op) {
  PRISM_CHECK(!x.defined() || !x.shard().sharded(),
              op << ": needs every channel, but x holds " << to_string(x.shard())
                 << "; gather them first (dist::functions::gather_channels)");
}

bool Variable::requires_grad() const {
  return defined() && node_->requires_grad;
}

void Variable::set_requires_grad(bool on) {
  PRISM_CHECK(is_leaf(), "Variable: requires_grad can only be set on a leaf");
  node_->requires_grad = on;
}

bool Variable::is_leaf() const {
  return defined() && !node_->backward && !node_->released;
}

const Tensor& Variable::grad() const {
  static const Tensor kNone;
  return defined() ? node_->grad : kNone;
}

void Variable::add_grad(Tensor g) const {
  PRISM_CHECK(defined(), "add_grad: undefined variable");
  PRISM_CHECK(g.shape() == shape(), "add_grad: gradient " << to_string(g.shape())
                                                          << " for a variable of shape "
                                                          << to_string(shape()));
  if (!node_->requires_grad) return;  // nobody asked for this gradient
  if (!node_->grad.defined())
    node_->grad = g.sole_handle() ? std::move(g) : g.clone();
  else
    add_inplace(node_->grad, g);
}

void Variable::zero_grad() const {
  if (defined()) node_->grad = Tensor();
}

void Variable::set_grad_hook(std::function<void()> hook) const {
  PRISM_CHECK(is_leaf(), "set_grad_hook: only a leaf (a parameter) takes a gradient hook");
  node_->grad_hook = std::move(hook);
}

bool Variable::has_grad_hook() const {
  return defined() && node_->grad_hook != nullptr;
}

void Variable::backward() const {
  PRISM_CHECK(data().numel() == 1, "backward: needs a one-element output (the loss), got shape "
                                       << to_string(shape())
                                       << "; pass an explicit gradient instead");
  backward(Tensor::ones(shape()));
}

void Variable::backward(const Tensor& grad_output) const {
  PRISM_CHECK(requires_grad(),
              "backward: this variable does not require grad (no parameter or "
              "input that requires grad reaches it, or it was made under "
              "NoGradGuard)");
  PRISM_CHECK(!node_->released, "backward: the graph was already released by an earlier backward");
  // Iterative post-order DFS: a node comes after every node it depends on.
  // `order` holds owning pointers: releasing a node's inputs must not free nodes still to visit.
  std::vector<std::shared_ptr<Node>> order;
  std::unordered_set<Node*> seen;
  std::vector<std::pair<std::shared_ptr<Node>, size_t>> stack{{node_, 0}};
  seen.insert(node_.get());
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs.size()) {
      const std::shared_ptr<Node>& child = node->inputs[next++].node_;
      if (!child || !child->requires_grad) continue;
      if (child->grad_hook) {
        if (seen.insert(child.get()).second) child->pending_users = 0;  // left by a failed walk
        ++child->pending_users;
        continue;  // a leaf: nothing below it
      }
      if (!seen.insert(child.get()).second) continue;
      PRISM_CHECK(!child->released,
                  "backward: part of the graph was already released by an earlier backward");
      stack.push_back({child, 0});
    } else {
      order.push_back(std::move(node));
      stack.pop_back();
    }
  }
  add_grad(grad_output);
  if (node_->grad_hook) node_->grad_hook();   // backward from a leaf: its gradient is all there
  std::vector<std::shared_ptr<Node>> hooked;  // this node's hooked leaves, one entry per edge
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* node = it->get();
    if (!node->backward) continue;  // a leaf keeps its gradient
    // Taken before backward runs, which may move its inputs out.
    hooked.clear();
    for (const Variable& in : node->inputs)
      if (in.node_ && in.node_->requires_grad && in.node_->grad_hook) hooked.push_back(in.node_);
    if (node->grad.defined()) {
      profile::Scope scope(node->op ? node->op : "(unnamed op)", profile::Phase::backward);
      node->backward(node->inputs, node->grad);
    }
    // Release the graph as we go: intermediate values and gradients are no longer needed.
    node->inputs.clear();
    node->backward = nullptr;
    node->grad = Tensor();
    node->released = true;
    // A hooked leaf whose last user has now run has its whole gradient.
    for (const std::shared_ptr<Node>& leaf : hooked)
      if (--leaf->pending_users == 0) leaf->grad_hook();
  }
}

}  // namespace prism
