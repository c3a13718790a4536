#include "ops/batch_normalization.hpp"

#include <cmath>

namespace prism {

void BatchNormConfig::check(const char* who) const {
  PRISM_CHECK(eps > 0 && std::isfinite(eps) && decay >= 0 && decay <= 1,
              who << ": needs eps > 0 and decay in [0, 1], got eps " << eps << ", decay " << decay);
}

namespace {

// x viewed as [N, C, S] with S = H * W (1 for [N, C]): channel c of sample n is the S floats at
// (n * C + c) * S.
struct BatchNormDims {
  int64_t n, c, s;
  int64_t m() const { return n * s; }  // values per channel
  int64_t at(int64_t i, int64_t ch) const { return (i * c + ch) * s; }
};

// Enough work per channel to be worth a thread team.
bool worth_threads(const BatchNormDims& d) {
  return d.n * d.c * d.s >= (1 << 15);
}

BatchNormDims check_batch_norm(const Variable& x, const Variable& gamma, const Variable& beta,
                               const Tensor& running_mean, const Tensor& running_var, bool train,
                               const BatchNormConfig& config) {
  PRISM_CHECK(x.defined() && (x.data().dim() == 2 || x.data().dim() == 4),
              "batch_normalization: x must be [N, C] or [N, C, H, W], got " << shape_string(x));
  const Shape& xs = x.shape();
  BatchNormDims d{xs[0], xs[1], xs.size() == 4 ? xs[2] * xs[3] : 1};
  const Shape expect{d.c};
  auto check_param = [&](const char* name, bool defined, const Shape& shape) {
    PRISM_CHECK(defined && shape == expect,
                "batch_normalization: " << name << " must be " << to_string(expect) << " for x "
                                        << to_string(xs) << ", got "
                                        << (defined ? to_string(shape) : "undefined"));
  };
  check_param("gamma", gamma.defined(), gamma.defined() ? gamma.shape() : Shape{});
  check_param("beta", beta.defined(), beta.defined() ? beta.shape() : Shape{});
  check_param("running_mean", running_mean.defined(), running_mean.shape());
  check_param("running_var", running_var.defined(), running_var.shape());
  // With one value per channel the batch variance is 0 and the output is just beta: training on
  // it is a mistake, and the unbiased running variance m / (m - 1) would divide by zero.
  PRISM_CHECK(!train || d.m() >= 2,
              "batch_normalization: training needs at least 2 values per channel (N * H * W), got "
                  << d.m() << " for x " << to_string(xs));
  config.check("batch_normalization");
  return d;
}

}  // namespace

Variable batch_normalization(const Variable& x, const Variable& gamma, const Variable& beta,
                             const Tensor& running_mean, const Tensor& running_var, bool train,
                             BatchNormConfig config) {
  const BatchNormDims d =
      check_batch_norm(x, gamma, beta, running_mean, running_var, train, config);
  const Tensor tx = x.data(), tg = gamma.data(), tb = beta.data();
  Tensor y(x.shape());
  Tensor xhat(x.shape());  // the normalized input, kept for the backward
  Tensor inv_std({d.c});   // 1 / sqrt(var + eps) of the statistics used
  const double m = static_cast<double>(d.m());

#pragma omp parallel for schedule(static) if (worth_threads(d))
  for (int64_t ch = 0; ch < d.c; ++ch) {
    double mean, var;
    if (train) {
      // Two passes in double: the mean first, then the centred squares (no cancellation).
      double acc = 0;
      for (int64_t i = 0; i < d.n; ++i)
        for (int64_t k = 0; k < d.s; ++k)
          acc += tx[d.at(i, ch) + k];
      mean = acc / m;
      double sq = 0;
      for (int64_t i = 0; i < d.n; ++i)
        for (int64_t k = 0; k < d.s; ++k) {
          const double dev = tx[d.at(i, ch) + k] - mean;
          sq += dev * dev;
        }
      var = sq / m;  // biased: what normalizes this batch
      const double keep = config.decay, take = 1.0 - config.decay;
      running_mean[ch] = static_cast<float>(keep * running_mean[ch] + take * mean);
      running_var[ch] = static_cast<float>(keep * running_var[ch] + take * var * m / (m - 1));
    } else {
      mean = running_mean[ch];
      var = running_var[ch];
    }
    const double istd = 1.0 / std::sqrt(var + config.eps);
    inv_std[ch] = static_cast<float>(istd);
    const float g = tg[ch], b = tb[ch];
    for (int64_t i = 0; i < d.n; ++i)
      for (int64_t k = 0; k < d.s; ++k) {
        const int64_t j = d.at(i, ch) + k;
        xhat[j] = static_cast<float>((tx[j] - mean) * istd);
        y[j] = g * xhat[j] + b;
      }
  }

  return Variable::make(y, {x, gamma, beta}, [=](std::vector<Variable>& in, const Tensor& gy) {
    Tensor gx, gg({d.c}), gb({d.c});
    if (in[0].requires_grad()) gx = Tensor(gy.shape());
#pragma omp parallel for schedule(static) if (worth_threads(d))
    for (int64_t ch = 0; ch < d.c; ++ch) {
      // dbeta = sum gy, dgamma = sum gy * xhat, per channel.
      double sum_gy = 0, sum_gy_xhat = 0;
      for (int64_t i = 0; i < d.n; ++i)
        for (int64_t k = 0; k < d.s; ++k) {
          const int64_t j = d.at(i, ch) + k;
          sum_gy += gy[j];
          sum_gy_xhat += static_cast<double>(gy[j]) * xhat[j];
        }
      gb[ch] = static_cast<float>(sum_gy);
      gg[ch] = static_cast<float>(sum_gy_xhat);
      if (!gx.defined()) continue;
      const double scale = static_cast<double>(tg[ch]) * inv_std[ch];
      // Train: the batch mean and variance depend on x, so
      //   dx = gamma * inv_std * (gy - mean(gy) - xhat * mean(gy * xhat)).
      // Eval: the running statistics are constants, dx = gamma * inv_std * gy.
      const double mean_gy = train ? sum_gy / m : 0.0;
      const double mean_gy_xhat = train ? sum_gy_xhat / m : 0.0;
      for (int64_t i = 0; i < d.n; ++i)
        for (int64_t k = 0; k < d.s; ++k) {
          const int64_t j = d.at(i, ch) + k;
          gx[j] = static_cast<float>(scale * (gy[j] - mean_gy - xhat[j] * mean_gy_xhat));
        }
    }
    if (in[0].requires_grad()) in[0].add_grad(std::move(gx));
    if (in[1].requires_grad()) in[1].add_grad(std::move(gg));
    if (in[2].requires_grad()) in[2].add_grad(std::move(gb));
  });
}

}  // namespace prism
