#include <doctest/doctest.h>

#include "core/allocator.hpp"
#include "prism.hpp"

using namespace prism;

TEST_CASE("autograd: add_grad ignores a variable that requires no gradient") {
  Variable constant(Tensor::ones({2}));
  constant.add_grad(Tensor::ones({2}));
  CHECK_FALSE(constant.has_grad());
  // The shape is still checked: a wrong gradient is a bug in the op, whoever asked for it.
  CHECK_THROWS_WITH_AS(constant.add_grad(Tensor::ones({3})),
                       doctest::Contains("gradient [3] for a variable of shape [2]"), Error);
  // An op's backward may hand its gradient to every input; only those that asked keep it.
  Variable x(Tensor::ones({2}), true);
  sum(mul(x, constant)).backward();
  CHECK(x.grad().to_vector() == std::vector<float>{1, 1});
  CHECK_FALSE(constant.has_grad());
}

TEST_CASE("autograd: add_grad keeps a gradient it alone holds and copies a shared one") {
  Variable x(Tensor::zeros({3}), true);
  Tensor owned = Tensor::ones({3});
  const float* storage = owned.data();
  x.add_grad(std::move(owned));
  CHECK(x.grad().data() == storage);  // handed over: no copy

  Variable y(Tensor::zeros({3}), true);
  Tensor shared = Tensor::ones({3});
  y.add_grad(shared);  // the caller keeps a handle: the gradient must be a copy of its own
  CHECK_FALSE(y.grad().same_storage(shared));
  shared.fill(5);
  CHECK(y.grad().to_vector() == std::vector<float>{1, 1, 1});
  y.add_grad(shared);  // later gradients accumulate in place
  CHECK(y.grad().to_vector() == std::vector<float>{6, 6, 6});
}

TEST_CASE("autograd: an intermediate's values go once only the graph refers to them") {
  Variable x(Tensor::ones({1000, 1000}), true);
  Variable loss;
  const int64_t base = memory::stats().in_use_bytes;
  {
    Variable h = scale(x, 2);  // scale's backward needs nothing of its input
    loss = sum(scale(h, 3));
    CHECK(memory::stats().in_use_bytes - base >= 4'000'000);  // h is held by the program
  }
  CHECK(memory::stats().in_use_bytes - base < 1'000'000);  // h's 4 MB are gone
  loss.backward();
  CHECK(x.grad()[0] == 6.0f);
  CHECK(x.grad()[999999] == 6.0f);

  // A backward function may copy an input; the values it reads must be ones it captured.
  Variable leaf(Tensor::ones({2}), true);
  Variable out;
  {
    Variable mid = scale(leaf, 1);
    out = Variable::make(Tensor::ones({2}), {mid}, [](std::vector<Variable>& in, const Tensor&) {
      const Variable copy = in[0];
      (void)copy.data();
    });
  }
  CHECK_THROWS_WITH_AS(out.backward(Tensor::ones({2})),
                       doctest::Contains("values of this intermediate result were released"),
                       Error);

  // Copies and moves of a graph edge are the program's handles: the program's own Variable of
  // the same result keeps its values through all of them.
  Variable held = scale(leaf, 1);
  Variable top =
      Variable::make(Tensor::ones({2}), {held}, [](std::vector<Variable>& in, const Tensor& g) {
        Variable copied;
        copied = in[0];
        Variable constructed(in[0]);
        Variable moved = std::move(constructed);
        Variable assigned;
        assigned = std::move(moved);
        in[0].add_grad(g);
      });
  top.backward(Tensor::ones({2}));
  CHECK(held.data().to_vector() == std::vector<float>{1, 1});
  CHECK(leaf.grad().to_vector() == std::vector<float>{1, 1});
}

TEST_CASE("autograd: a value used twice accumulates both gradients") {
  Variable x(Tensor::from({3}, {1, 2, 3}), true);
  Variable y = sum(mul(x, x));  // d/dx sum(x^2) = 2x
  y.backward();
  CHECK(x.grad().to_vector() == std::vector<float>{2, 4, 6});

  Variable a(Tensor::from({2}, {1, -1}), true);
  Variable z = sum(add(a, add(a, a)));  // 3a
  z.backward();
  CHECK(a.grad().to_vector() == std::vector<float>{3, 3});
}

TEST_CASE("autograd: gradients accumulate across backward calls until zero_grad") {
  Variable x(Tensor::from({2}, {1, 2}), true);
  sum(scale(x, 2)).backward();
  sum(scale(x, 3)).backward();
  CHECK(x.grad().to_vector() == std::vector<float>{5, 5});
  x.zero_grad();
  CHECK_FALSE(x.has_grad());
}

TEST_CASE("autograd: no-grad scope records no graph") {
  Variable x(Tensor::from({2}, {1, 2}), true);
  {
    NoGradGuard guard;
    CHECK_FALSE(grad_enabled());
    Variable y = sum(mul(x, x));
    CHECK_FALSE(y.requires_grad());
    CHECK(y.data().item() == 5.0f);
    CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("does not require grad"), Error);
  }
  CHECK(grad_enabled());
  CHECK(sum(x).requires_grad());
}

TEST_CASE("autograd: a branch that does not reach the loss gets no gradient") {
  Variable x(Tensor::from({2}, {1, 2}), true);
  Variable w(Tensor::from({2}, {3, 4}), true);
  Variable unused = mul(w, x);  // built, never part of the loss
  Variable loss = sum(scale(x, 2));
  loss.backward();
  CHECK(x.grad().to_vector() == std::vector<float>{2, 2});
  CHECK_FALSE(w.has_grad());
}

TEST_CASE("autograd: inputs that do not require grad get none") {
  Variable x(Tensor::from({2}, {1, 2}), false);
  Variable w(Tensor::from({2}, {3, 4}), true);
  sum(mul(w, x)).backward();
  CHECK_FALSE(x.has_grad());
  CHECK(w.grad().to_vector() == std::vector<float>{1, 2});
}

TEST_CASE("autograd: the graph is released after backward") {
  Variable x(Tensor::from({2}, {1, 2}), true);
  Variable h = mul(x, x);
  Variable loss = sum(h);
  loss.backward();
  CHECK_FALSE(h.has_grad());  // intermediate gradients are dropped
  CHECK_THROWS_WITH_AS(loss.backward(), doctest::Contains("already released"), Error);
  CHECK_THROWS_WITH_AS(sum(h).backward(), doctest::Contains("already released"), Error);
}

TEST_CASE("autograd: backward needs a scalar or an explicit gradient of the right shape") {
  Variable x(Tensor::from({2}, {1, 2}), true);
  Variable y = scale(x, 2);
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("one-element output"), Error);
  CHECK_THROWS_WITH_AS(y.backward(Tensor({3})),
                       doctest::Contains("gradient [3] for a variable of shape [2]"), Error);
  y = scale(x, 2);
  y.backward(Tensor::from({2}, {1, 10}));
  CHECK(x.grad().to_vector() == std::vector<float>{2, 20});
}

TEST_CASE("autograd: a deep chain does not overflow the stack") {
  Variable x(Tensor::from({1}, {1}), true);
  Variable y = x;
  for (int i = 0; i < 100000; ++i)
    y = scale(y, 1.0f);
  y.backward();
  CHECK(x.grad().item() == 1.0f);
}

TEST_CASE("autograd: a leaf's grad hook runs once per backward, when its gradient is complete") {
  Variable w(Tensor::full({2}, 3.0f), true), v(Tensor::full({2}, 1.0f), true);
  std::vector<std::string> calls;
  std::vector<float> w_seen;
  bool v_had_grad_when_w_ready = true;
  w.set_grad_hook([&] {
    calls.push_back("w");
    w_seen = w.grad().to_vector();
    v_had_grad_when_w_ready = v.has_grad();
  });
  v.set_grad_hook([&] { calls.push_back("v"); });
  // b = (w * v) * w: w's hook waits for both of its uses, its gradient 2 w v = 6.
  sum(mul(mul(w, v), w)).backward();
  CHECK(calls == std::vector<std::string>{"w", "v"});
  CHECK(w_seen == std::vector<float>{6, 6});
  CHECK(v.grad().to_vector() == std::vector<float>{9, 9});

  // w used only by the last op: its hook runs before the earlier op's backward reaches v.
  calls.clear();
  w.zero_grad();
  v.zero_grad();
  sum(mul(scale(v, 2.0f), w)).backward();
  CHECK(calls == std::vector<std::string>{"w", "v"});
  CHECK_FALSE(v_had_grad_when_w_ready);

  // Backward from the leaf itself; a removed hook runs no more; only leaves take one.
  calls.clear();
  w.backward(Tensor::ones({2}));
  CHECK(calls == std::vector<std::string>{"w"});
  w.set_grad_hook(nullptr);
  sum(mul(v, w)).backward();
  CHECK(calls == std::vector<std::string>{"w", "v"});
  CHECK_THROWS_WITH_AS(scale(w, 2.0f).set_grad_hook([] {}), doctest::Contains("only a leaf"),
                       Error);

  // One op reading the leaf twice: one call, with both halves of the gradient (2 w = 6).
  calls.clear();
  w.set_grad_hook([&] {
    calls.push_back("w");
    w_seen = w.grad().to_vector();
  });
  w.zero_grad();
  sum(mul(w, w)).backward();
  CHECK(calls == std::vector<std::string>{"w"});
  CHECK(w_seen == std::vector<float>{6, 6});
  // A hook that throws ends that backward; the next one counts afresh.
  w.set_grad_hook([] { PRISM_FAIL("hook failed"); });
  CHECK_THROWS_WITH_AS(sum(mul(w, w)).backward(), doctest::Contains("hook failed"), Error);
  w.set_grad_hook([&] { calls.push_back("w"); });
  sum(mul(w, w)).backward();
  CHECK(calls == std::vector<std::string>{"w", "w"});
}
