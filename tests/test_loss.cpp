#include <doctest/doctest.h>

#include <cmath>

#include "gradcheck.hpp"

using namespace prism;
using prism::testing::check_gradients;
using prism::testing::random_tensor;

TEST_CASE("softmax_cross_entropy: value against a hand example") {
  Tensor logits = Tensor::from({2, 3}, {1, 2, 3, 0, 0, 0});
  // -log softmax: row 0, label 2: log(e + e^2 + e^3) - 3; row 1, label 0: log 3.
  const double l0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 3.0;
  const double l1 = std::log(3.0);
  Variable loss = softmax_cross_entropy(Variable(logits), {2, 0});
  CHECK(loss.shape() == Shape{});
  CHECK(loss.data().item() == doctest::Approx((l0 + l1) / 2));
  // An ignored sample counts neither in the sum nor in the mean.
  CHECK(softmax_cross_entropy(Variable(logits), {2, kIgnoreLabel}).data().item() ==
        doctest::Approx(l0));
}

TEST_CASE("softmax_cross_entropy: gradient by finite differences") {
  Rng rng(31);
  const std::vector<std::pair<Shape, Labels>> cases{
      {{1, 1}, {0}},
      {{1, 4}, {3}},
      {{5, 3}, {0, 2, kIgnoreLabel, 1, 1}},
      {{4, 7}, {6, kIgnoreLabel, 0, 3}},
  };
  for (const auto& [shape, labels] : cases) {
    INFO("logits " << to_string(shape));
    check_gradients([&labels](auto& v) { return softmax_cross_entropy(v[0], labels); },
                    {random_tensor(shape, rng, -2.0f, 2.0f)});
  }
  // The closed form, with an ignored row left at 0: (softmax - onehot) / count * dy.
  Tensor t = Tensor::from({3, 2}, {0, 0, 5, -5, 1, 3});
  Variable x(t, true);
  softmax_cross_entropy(x, {1, kIgnoreLabel, 0}).backward(Tensor::scalar(4.0f));
  const double p = 1.0 / (1.0 + std::exp(2.0));  // softmax of (1, 3), first entry
  const std::vector<double> expect{0.5 * 2, -0.5 * 2, 0, 0, (p - 1) * 2, (1 - p) * 2};
  for (int64_t i = 0; i < 6; ++i)
    CHECK(x.grad()[i] == doctest::Approx(expect[i]));
}

TEST_CASE("softmax_cross_entropy: every label ignored gives 0 and no gradient") {
  Rng rng(32);
  Variable x(random_tensor({3, 4}, rng), true);
  Variable loss = softmax_cross_entropy(x, {kIgnoreLabel, kIgnoreLabel, kIgnoreLabel});
  CHECK(loss.data().item() == 0.0f);
  loss.backward();
  REQUIRE(x.has_grad());
  CHECK(x.grad().to_vector() == std::vector<float>(12, 0.0f));
  CHECK(softmax_cross_entropy(Variable(Tensor({0, 4})), {}).data().item() == 0.0f);
}

TEST_CASE("softmax_cross_entropy: huge logits stay finite") {
  Variable x(Tensor::from({3, 3}, {1e4f, 0, -1e4f, 1e4f, 1e4f, 1e4f, -1e4f, -1e4f, 0}), true);
  Variable loss = softmax_cross_entropy(x, {1, 2, 0});
  // Row 0: 1e4 - 0; row 1: log 3; row 2: log(1 + 2 e^-1e4) + 1e4, i.e. 1e4.
  CHECK(loss.data().item() == doctest::Approx((2e4 + std::log(3.0)) / 3));
  loss.backward();
  for (float g : x.grad().to_vector())
    CHECK(std::isfinite(g));
  CHECK(x.grad()[0] == doctest::Approx(1.0 / 3));
  CHECK(x.grad()[1] == doctest::Approx(-1.0 / 3));
}

TEST_CASE("softmax_cross_entropy and accuracy: misuse is an error naming it") {
  Variable x(Tensor({3, 4}));
  for (const char* op : {"softmax_cross_entropy", "accuracy"}) {
    auto call = [op](const Variable& logits, const Labels& labels) {
      if (std::string(op) == "accuracy") return accuracy(logits, labels);
      return softmax_cross_entropy(logits, labels).data().item();
    };
    INFO(op);
    const std::string bad_shape =
        std::string(op) + ": logits must be [N, classes] with classes >= 1, got [12]";
    CHECK_THROWS_WITH_AS(call(Variable(Tensor({12})), {0}), doctest::Contains(bad_shape.c_str()),
                         Error);
    CHECK_THROWS_WITH_AS(call(Variable(Tensor({2, 0})), {0, 0}), doctest::Contains("got [2, 0]"),
                         Error);
    CHECK_THROWS_WITH_AS(call(x, {0, 1}), doctest::Contains("2 labels for logits [3, 4]"), Error);
    CHECK_THROWS_WITH_AS(call(x, {0, 1, 4}),
                         doctest::Contains("label 4 of sample 2 is out of range [0, 4)"), Error);
    CHECK_THROWS_WITH_AS(call(x, {-2, 1, 3}),
                         doctest::Contains("label -2 of sample 0 is out of range"), Error);
    CHECK_THROWS_AS(call(Variable(), {}), Error);
  }
}

TEST_CASE("accuracy: hand example with ignored samples and ties") {
  Variable x(Tensor::from({5, 3}, {
                                      0.1f, 0.9f, 0.0f,  // argmax 1, label 1: right
                                      2.0f, 2.0f, 1.0f,  // tie: the first max (0) wins, label 1
                                      0.0f, 0.0f, 5.0f,  // ignored
                                      3.0f, 1.0f, 0.0f,  // argmax 0, label 0: right
                                      1.0f, 1.0f, 1.0f,  // all tied: 0, label 0: right
                                  }));
  CHECK(accuracy(x, {1, 1, kIgnoreLabel, 0, 0}) == doctest::Approx(0.75));
  CHECK(accuracy(x, {1, 0, 2, 0, 0}) == 1.0f);
  CHECK(accuracy(x, {0, 1, 1, 1, 2}) == 0.0f);
  CHECK(accuracy(x, Labels(5, kIgnoreLabel)) == 0.0f);  // nothing counted
}
