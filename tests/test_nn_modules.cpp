#include <doctest/doctest.h>

#include "gradcheck.hpp"

using namespace prism;
using prism::testing::max_rel_diff;
using prism::testing::random_tensor;

namespace {

std::vector<std::string> names_of(const NamedParameters& params) {
  std::vector<std::string> out;
  for (const auto& [name, p] : params)
    out.push_back(name);
  return out;
}

// A two-level model: Sequential inside a custom module.
class Net : public nn::Module {
 public:
  Net() {
    body_ = register_module("body", std::make_shared<nn::Sequential>());
    body_->add(std::make_shared<nn::Convolution2D>(2, 3, 3, 1, 1));
    body_->add(relu);
    body_->add(std::make_shared<nn::BatchNormalization>(3));
    head_ = register_module("head", std::make_shared<nn::Linear>(3 * 4 * 4, 5, /*nobias=*/true));
  }
  Variable forward(const Variable& x) override { return (*head_)((*body_)(x)); }

  std::shared_ptr<nn::Sequential> body_;
  std::shared_ptr<nn::Linear> head_;
};

}  // namespace

TEST_CASE("nn: parameter and buffer names follow the tree, in registration order") {
  Net net;
  CHECK(names_of(net.named_parameters()) ==
        std::vector<std::string>{"body.0.W", "body.0.b", "body.2.gamma", "body.2.beta", "head.W"});
  CHECK(net.parameters().size() == 5);
  const NamedTensors buffers = net.named_buffers();
  REQUIRE(buffers.size() == 2);
  CHECK(buffers[0].first == "body.2.avg_mean");
  CHECK(buffers[1].first == "body.2.avg_var");
  CHECK(net.named_parameters()[0].second.shape() == Shape{3, 2, 3, 3});
  CHECK(net.named_parameters()[0].second.requires_grad());
}

TEST_CASE("nn: bad names and sizes are errors") {
  struct Bad : nn::Module {
    Variable forward(const Variable& x) override { return x; }
    void add(const std::string& name) { register_parameter(name, Tensor({1})); }
  } bad;
  bad.add("w");
  CHECK_THROWS_WITH_AS(bad.add("w"), doctest::Contains("'w'"), Error);
  CHECK_THROWS_AS(bad.add(""), Error);
  CHECK_THROWS_AS(bad.add("a.b"), Error);
  CHECK_THROWS_AS(nn::Linear(0, 3), Error);
  CHECK_THROWS_AS(nn::Convolution2D(1, 2, 0), Error);
  CHECK_THROWS_AS(nn::BatchNormalization(4, 1.5f), Error);
  CHECK_THROWS_AS(nn::Dropout(1.0f), Error);
  nn::Linear fc(4, 2);
  CHECK_THROWS_WITH_AS(fc(Variable(Tensor({3, 5}))), doctest::Contains("Linear: expected x [N, 4]"),
                       Error);
}

TEST_CASE("nn: train and eval reach every descendant; zero_grad clears all") {
  Net net;
  net.eval();
  CHECK_FALSE(net.training());
  for (const auto& child : net.body_->children())
    CHECK_FALSE(child->training());
  net.train();
  CHECK(net.body_->children()[2]->training());

  Rng rng(1);
  Variable y = net(Variable(random_tensor({2, 2, 4, 4}, rng)));
  sum(y).backward();
  for (const Variable& p : net.parameters())
    CHECK(p.has_grad());
  net.zero_grad();
  for (const Variable& p : net.parameters())
    CHECK_FALSE(p.has_grad());
}

TEST_CASE("nn: Linear and Convolution2D compute their op with their parameters") {
  manual_seed(3);
  Rng rng(2);
  nn::Linear fc(6, 4);
  Tensor x = random_tensor({3, 2, 3}, rng);  // [N, ...] is flattened
  Variable y = fc(Variable(x));
  CHECK(max_rel_diff(y.data(), linear(Variable(x.reshape({3, 6})), fc.W(), fc.b()).data()) == 0);
  sum(y).backward();
  CHECK(fc.W().has_grad());
  CHECK(fc.b().grad().to_vector() == std::vector<float>{3, 3, 3, 3});

  nn::Convolution2D conv(3, 4, 3, 2, 1);
  Tensor xi = random_tensor({2, 3, 5, 5}, rng);
  Variable yc = conv(Variable(xi));
  CHECK(yc.shape() == Shape{2, 4, 3, 3});
  CHECK(max_rel_diff(yc.data(), conv2d(Variable(xi), conv.W(), conv.b(), 2, 1).data()) == 0);
  sum(yc).backward();
  CHECK(conv.W().has_grad());
  // db[k] = sum over N, Ho, Wo of dy = 2 * 3 * 3.
  CHECK(conv.b().grad().to_vector() == std::vector<float>{18, 18, 18, 18});
  nn::Convolution2D plain(3, 4, 3, 1, 0, /*nobias=*/true);
  CHECK_FALSE(plain.b().defined());
  CHECK(plain.named_parameters().size() == 1);
  CHECK_THROWS_WITH_AS(conv(Variable(Tensor({2, 2, 5, 5}))), doctest::Contains("conv2d"), Error);
  // LeCun normal: std sqrt(1 / fan_in); with 4*3*9 = 108 draws the sample std is close.
  const Tensor& w = conv.W().data();
  double sq = 0;
  for (int64_t i = 0; i < w.numel(); ++i)
    sq += double(w[i]) * w[i];
  CHECK(std::sqrt(sq / w.numel()) == doctest::Approx(std::sqrt(1.0 / 27)).epsilon(0.2));
}

TEST_CASE("nn: BatchNormalization updates its running statistics only in training") {
  nn::BatchNormalization bn(2);
  Variable x(Tensor::from({2, 2}, {1, 10, 3, 30}));
  bn(x);
  const NamedTensors buffers = bn.named_buffers();
  // mean (2, 20); unbiased var (2, 200); decay 0.9 from (0, 1).
  CHECK(buffers[0].second[0] == doctest::Approx(0.2));
  CHECK(buffers[0].second[1] == doctest::Approx(2.0));
  CHECK(buffers[1].second[0] == doctest::Approx(0.9 + 0.1 * 2));
  CHECK(buffers[1].second[1] == doctest::Approx(0.9 + 0.1 * 200));
  bn.eval();
  const std::vector<float> before = buffers[0].second.to_vector();
  bn(x);
  CHECK(buffers[0].second.to_vector() == before);
}

TEST_CASE("nn: Dropout is active in training only; Sequential runs lambdas in order") {
  manual_seed(5);
  nn::Dropout drop(0.5f);
  Variable x(Tensor::ones({1, 1000}));
  const std::vector<float> y = drop(x).data().to_vector();
  const auto zeros = std::count(y.begin(), y.end(), 0.0f);
  CHECK(zeros > 400);
  CHECK(zeros < 600);
  drop.eval();
  CHECK(drop(x).data().to_vector() == x.data().to_vector());

  nn::Sequential seq;
  seq.add([](const Variable& v) { return scale(v, 2.0f); });
  seq.add(relu);
  CHECK(seq(Variable(Tensor::from({3}, {-1, 0.5f, 2}))).data().to_vector() ==
        std::vector<float>{0, 1, 4});
  CHECK(seq.size() == 2);
}

TEST_CASE("nn: Classifier reports loss and accuracy of the last call") {
  auto identity = std::make_shared<nn::Sequential>();
  nn::Classifier model(identity);
  CHECK_THROWS_WITH_AS(model.loss(), doctest::Contains("before any call"), Error);
  // Two samples, two classes: logits (0, 0) and (2, 0); labels 1 and 0.
  Variable logits(Tensor::from({2, 2}, {0, 0, 2, 0}));
  Variable loss = model(logits, {1, 0});
  const double expect = (std::log(2.0) + std::log(1.0 + std::exp(-2.0))) / 2;
  CHECK(loss.data().item() == doctest::Approx(expect));
  CHECK(model.loss() == doctest::Approx(expect));
  CHECK(model.accuracy() == doctest::Approx(0.5));  // sample 0 ties: arg-max is class 0
}

TEST_CASE("VGG16: any input size that is a multiple of 32; others are refused by name") {
  const dist::Communicator alone;
  manual_seed(0);
  nn::VGG16 wide(alone, 1, 4, nn::Layout::sharded, {64, 32});
  wide.eval();
  Rng rng(2);
  const Variable y = wide(Variable(prism::testing::random_tensor({2, 1, 64, 32}, rng)));
  CHECK(y.shape() == Shape{2, 4});
  // The first fc reads 512 * 2 * 1 values.
  int64_t fc = 0;
  for (const auto& [name, p] : wide.named_parameters())
    if (p.data().dim() == 2 && fc == 0) fc = p.shape()[1];
  CHECK(fc == 1024);
  CHECK_THROWS_WITH_AS(wide(Variable(Tensor({2, 1, 32, 32}))),
                       doctest::Contains("expected x [N, C, 64, 32]"), Error);
  CHECK_THROWS_WITH_AS(nn::VGG16(alone, 3, 10, nn::Layout::sharded, 48),
                       doctest::Contains("multiple of 32"), Error);
}

TEST_CASE("Convolution2D with groups: W holds in / groups channels per filter") {
  manual_seed(4);
  nn::Convolution2D conv(6, 4, 3, 1, 1, /*nobias=*/false, /*groups=*/2);
  CHECK(conv.W().shape() == Shape{4, 3, 3, 3});
  CHECK(conv.groups() == 2);
  Rng rng(5);
  const Tensor x = prism::testing::random_tensor({2, 6, 5, 5}, rng);
  const Tensor want = conv2d(Variable(x), conv.W(), conv.b(), 1, 1, 2).data();
  CHECK(prism::testing::max_rel_diff(conv(Variable(x)).data(), want) == 0);
  CHECK_THROWS_WITH_AS(
      nn::Convolution2D(6, 4, 3, 1, 1, false, 4),
      doctest::Contains("groups must be >= 1 and divide in and out channels, got 4"), Error);
}

TEST_CASE("Convolution2D with dilation: the op's dilated convolution, and bad dilations named") {
  manual_seed(4);
  nn::Convolution2D conv(2, 3, 3, 1, 2, /*nobias=*/false, /*groups=*/1, /*dilation=*/{2, 1});
  CHECK(conv.dilation() == Size2{2, 1});
  Rng rng(5);
  const Tensor x = prism::testing::random_tensor({2, 2, 6, 7}, rng);
  const Variable y = conv(Variable(x));
  CHECK(y.shape() == Shape{2, 3, 6, 9});  // rows: 6 + 4 - 5 + 1, columns: 7 + 4 - 3 + 1
  CHECK(prism::testing::max_rel_diff(
            y.data(), conv2d(Variable(x), conv.W(), conv.b(), 1, 2, 1, {2, 1}).data()) == 0);
  CHECK_THROWS_WITH_AS(nn::Convolution2D(2, 3, 3, 1, 1, false, 1, 0),
                       doctest::Contains("dilation 0"), Error);
}

TEST_CASE("ResNet: the paper's CIFAR layout, its size, and its gradients") {
  manual_seed(6);
  nn::ResNet resnet20(20);
  int64_t count = 0;
  for (const auto& [name, p] : resnet20.named_parameters())
    count += p.data().numel();
  // He et al.'s "0.27M" for ResNet-20, with option-B shortcuts: 432 + 32 (stem), 14016,
  // 51648 and 205696 (the stages, the shortcuts' 1x1 convolutions and BNs included), 650 (fc).
  CHECK(count == 272474);
  Rng rng(7);
  CHECK(resnet20(Variable(prism::testing::random_tensor({2, 3, 32, 32}, rng))).shape() ==
        Shape{2, 10});
  // Any image size: 9x9 halves to 5 then 3 before the global pooling; backward reaches every
  // parameter.
  nn::ResNet resnet8(8, 1, 3);
  Variable logits = resnet8(Variable(prism::testing::random_tensor({2, 1, 9, 9}, rng)));
  CHECK(logits.shape() == Shape{2, 3});
  sum(logits).backward();
  for (const auto& [name, p] : resnet8.named_parameters()) {
    INFO(name);
    CHECK(p.has_grad());
  }
  // Both kinds of block against finite differences (the whole net is too deep for float32's
  // differences): the identity shortcut, and the 1x1 convolution with stride 2.
  for (int64_t stride : {1, 2}) {
    nn::BasicBlock block(2, 2 * stride, stride);
    prism::testing::check_gradients([&](auto& v) { return block(v[0]); },
                                    {prism::testing::random_tensor({2, 2, 6, 6}, rng)},
                                    {.eps = 1e-3});
  }
  CHECK_THROWS_WITH_AS(nn::ResNet(21), doctest::Contains("depth must be 6 n + 2"), Error);
  CHECK_THROWS_WITH_AS(nn::ResNet(2), doctest::Contains("got 2"), Error);
}
