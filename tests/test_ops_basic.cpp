#include <doctest/doctest.h>

#include "gradcheck.hpp"
#include "ops/bit_mask.hpp"

using namespace prism;
using prism::testing::check_gradients;
using prism::testing::random_tensor;

TEST_CASE("ops: add, mul, scale, sum, mean gradients") {
  Rng rng(1);
  Tensor a = random_tensor({3, 5}, rng), b = random_tensor({3, 5}, rng);
  check_gradients([](auto& v) { return add(v[0], v[1]); }, {a, b});
  check_gradients([](auto& v) { return mul(v[0], v[1]); }, {a, b});
  check_gradients([](auto& v) { return scale(v[0], -2.5f); }, {a});
  check_gradients([](auto& v) { return sum(v[0]); }, {a});
  check_gradients([](auto& v) { return mean(v[0]); }, {a});
  CHECK(mean(Variable(Tensor::from({4}, {1, 2, 3, 6}))).data().item() == 3.0f);
  CHECK_THROWS_WITH_AS(add(Variable(a), Variable(Tensor({5, 3}))),
                       doctest::Contains("add: shapes [3, 5] and [5, 3] do not broadcast"), Error);
}

TEST_CASE("ops: add and mul broadcast as NumPy does, gradients summed over the broadcast") {
  Rng rng(4);
  // [2, 3, 4] with [3, 1] (missing and unit dimensions), a scalar, a row, and both sides at once.
  const Shape pairs[][2] = {{{2, 3, 4}, {3, 1}},
                            {{2, 3}, {}},
                            {{4}, {2, 3, 4}},
                            {{2, 1, 4}, {3, 1}},
                            {{1, 3, 1}, {2, 1, 5}}};
  for (const auto& [sa, sb] : pairs) {
    CAPTURE(to_string(sa));
    CAPTURE(to_string(sb));
    Tensor a = random_tensor(sa, rng), b = random_tensor(sb, rng);
    check_gradients([](auto& v) { return add(v[0], v[1]); }, {a, b});
    check_gradients([](auto& v) { return mul(v[0], v[1]); }, {a, b});
  }
  // Values against the definition: y[n, c, i] = a[n, c, i] * b[c, 0].
  Tensor a = Tensor::from({2, 2, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  Tensor b = Tensor::from({2, 1}, {10, -1});
  CHECK(mul(Variable(a), Variable(b)).data().to_vector() ==
        std::vector<float>{10, 20, 30, -4, -5, -6, 70, 80, 90, -10, -11, -12});
  CHECK(add(Variable(b), Variable(a)).shape() == Shape{2, 2, 3});
  Variable vb(b, true);
  sum(add(Variable(a), vb)).backward();
  CHECK(vb.grad().to_vector() == std::vector<float>{6, 6});  // 2 images x 3 columns each
  CHECK_THROWS_WITH_AS(mul(Variable(Tensor({2, 3})), Variable(Tensor({2}))),
                       doctest::Contains("dimension 0 from the end: 3 and 2"), Error);
}

TEST_CASE("ops: relu forward and gradient") {
  Variable x(Tensor::from({4}, {-1, 0.5f, 2, -0.25f}));
  CHECK(relu(x).data().to_vector() == std::vector<float>{0, 0.5f, 2, 0});
  Rng rng(2);
  // Values away from the kink at 0, where the finite difference is not defined.
  Tensor t = random_tensor({2, 3, 4}, rng);
  for (int64_t i = 0; i < t.numel(); ++i)
    if (std::abs(t[i]) < 0.05f) t[i] = 0.3f;
  check_gradients([](auto& v) { return relu(v[0]); }, {t});
}

TEST_CASE("ops: add_relu is relu(add(a, b)), forward and gradients") {
  Rng rng(5);
  // Sums away from the kink at 0; a big one goes through the threaded loops.
  for (const Shape& shape : {Shape{2, 3, 4}, Shape{4, 16, 32, 32}}) {
    Tensor a = random_tensor(shape, rng), b = random_tensor(shape, rng);
    for (int64_t i = 0; i < a.numel(); ++i)
      if (std::abs(a[i] + b[i]) < 0.05f) a[i] += 0.3f;
    Variable va(a, true), vb(b, true), wa(a.clone(), true), wb(b.clone(), true);
    Variable y = add_relu(va, vb), want = relu(add(wa, wb));
    CHECK(y.data().to_vector() == want.data().to_vector());
    const Tensor gy = random_tensor(shape, rng);
    y.backward(gy);
    want.backward(gy);
    CHECK(va.grad().to_vector() == wa.grad().to_vector());
    CHECK(vb.grad().to_vector() == wb.grad().to_vector());
    if (shape.size() == 3) check_gradients([](auto& v) { return add_relu(v[0], v[1]); }, {a, b});
  }
  // One input that needs no gradient, and the same variable on both sides.
  Variable x(Tensor::from({3}, {1, -2, 0.5f}), true);
  sum(add_relu(x, Variable(Tensor::from({3}, {1, 1, 1})))).backward();
  CHECK(x.grad().to_vector() == std::vector<float>{1, 0, 1});
  Variable z(Tensor::from({2}, {1, -1}), true);
  sum(add_relu(z, z)).backward();
  CHECK(z.grad().to_vector() == std::vector<float>{2, 0});
  CHECK_THROWS_WITH_AS(
      add_relu(Variable(Tensor({2, 3})), Variable(Tensor({3}))),
      doctest::Contains("add_relu: needs a and b of one shape, got [2, 3] and [3]"), Error);
}

TEST_CASE("ops: reshape and flatten") {
  Rng rng(3);
  Tensor t = random_tensor({2, 3, 2, 2}, rng);
  check_gradients([](auto& v) { return flatten(v[0]); }, {t});
  check_gradients([](auto& v) { return reshape(v[0], {4, -1}); }, {t});
  CHECK(flatten(Variable(t)).shape() == Shape{2, 12});
  CHECK_THROWS_WITH_AS(reshape(Variable(t), {5, -1}), doctest::Contains("cannot reshape"), Error);
  // A view, as Tensor::reshape: no copy of the values.
  CHECK(reshape(Variable(t), {4, -1}).data().same_storage(t));
  CHECK(flatten(Variable(t)).data().same_storage(t));
}

TEST_CASE("ops: concat along every axis, with uneven pieces") {
  Rng rng(4);
  for (int64_t axis = 0; axis < 3; ++axis) {
    Shape sa{2, 3, 4}, sb{2, 3, 4};
    sb[axis] = 1 + axis;  // a different length on the concat axis
    Tensor a = random_tensor(sa, rng), b = random_tensor(sb, rng);
    check_gradients([axis](auto& v) { return concat({v[0], v[1], v[0]}, axis); }, {a, b});
    Variable y = concat({Variable(a), Variable(b)}, axis);
    Shape expect = sa;
    expect[axis] += sb[axis];
    CHECK(y.shape() == expect);
  }
  Tensor a = Tensor::from({2, 1}, {1, 2}), b = Tensor::from({2, 2}, {3, 4, 5, 6});
  CHECK(concat({Variable(a), Variable(b)}, 1).data().to_vector() ==
        std::vector<float>{1, 3, 4, 2, 5, 6});
  CHECK(concat({Variable(a), Variable(b)}, -1).shape() == Shape{2, 3});
  CHECK_THROWS_WITH_AS(concat({Variable(a), Variable(b)}, 0), doctest::Contains("differ off axis"),
                       Error);
  CHECK_THROWS_AS(concat({}, 0), Error);
  CHECK_THROWS_AS(concat({Variable(a)}, 2), Error);
}

TEST_CASE("ops: select_channels picks, reorders and repeats channels") {
  Rng rng(5);
  Tensor t = random_tensor({2, 5, 3, 2}, rng);
  check_gradients([](auto& v) { return select_channels(v[0], {4, 0, 2}); }, {t});
  check_gradients([](auto& v) { return select_channels(v[0], {1, 1, 3}); }, {t});
  Tensor x = Tensor::from({1, 3, 1, 1}, {10, 11, 12});
  CHECK(select_channels(Variable(x), {2, 0}).data().to_vector() == std::vector<float>{12, 10});
  CHECK_THROWS_WITH_AS(select_channels(Variable(x), {3}),
                       doctest::Contains("index 3 out of range for 3 channels"), Error);
  CHECK_THROWS_AS(select_channels(Variable(Tensor({3})), {0}), Error);
}

TEST_CASE("ops: matmul and linear against hand values and finite differences") {
  Tensor a = Tensor::from({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = Tensor::from({3, 2}, {1, 0, 0, 1, 1, 1});
  CHECK(matmul(Variable(a), Variable(b)).data().to_vector() == std::vector<float>{4, 5, 10, 11});
  Rng rng(6);
  for (auto [m, k, n] : {std::tuple{1, 1, 1}, {3, 7, 5}, {8, 2, 9}}) {
    check_gradients([](auto& v) { return matmul(v[0], v[1]); },
                    {random_tensor({m, k}, rng), random_tensor({k, n}, rng)});
    Tensor x = random_tensor({m, k}, rng), w = random_tensor({n, k}, rng);
    check_gradients([](auto& v) { return linear(v[0], v[1], v[2]); },
                    {x, w, random_tensor({n}, rng)});
    check_gradients([](auto& v) { return linear(v[0], v[1]); }, {x, w});
  }
  CHECK_THROWS_WITH_AS(matmul(Variable(a), Variable(a)),
                       doctest::Contains("matmul: needs [M, K] x [K, N], got [2, 3] x [2, 3]"),
                       Error);
  CHECK_THROWS_WITH_AS(linear(Variable(a), Variable(Tensor({4, 2}))),
                       doctest::Contains("linear: needs x [N, in] and W [out, in]"), Error);
  CHECK_THROWS_WITH_AS(linear(Variable(a), Variable(Tensor({4, 3})), Variable(Tensor({3}))),
                       doctest::Contains("bias [3] for 4 outputs"), Error);
}

TEST_CASE("bit_mask: flags pack eight to a byte, bit j of byte k holding flag 8k + j, and back") {
  Rng rng(3);
  for (int64_t n : {0, 1, 7, 8, 9, 15, 16, 63, 64, 65, 1000}) {
    CAPTURE(n);
    std::vector<uint8_t> flags(n), back(n, 7);
    for (auto& f : flags)
      f = rng.next_u64() & 1;
    std::vector<uint8_t> bits(bit_mask_bytes(n) + 1, 0xAB);  // one guard byte past the end
    pack_flags(flags.data(), n, bits.data());
    for (int64_t i = 0; i < 8 * bit_mask_bytes(n); ++i)
      CHECK(((bits[i / 8] >> (i % 8)) & 1) == (i < n ? flags[i] : 0));
    CHECK(bits.back() == 0xAB);
    unpack_flags(bits.data(), n, back.data());
    CHECK(back == flags);
  }
  CHECK(bit_mask_bytes(17) == 3);
}
