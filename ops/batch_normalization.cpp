#include "ops/batch_normalization.hpp"

#include <omp.h>

#include <cmath>
#include <vector>

#include "core/allocator.hpp"
#include "core/parallel.hpp"
#include "core/profiler.hpp"
#include "ops/bit_mask.hpp"

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
  // The fused ReLU's mask: a bit per value, each row of S starting on a byte of its own, so
  // the threads (a channel each) never write one byte.
  int64_t mask_row_bytes() const { return bit_mask_bytes(s); }
  int64_t mask_at(int64_t i, int64_t ch) const { return (i * c + ch) * mask_row_bytes(); }
};

// Enough work per channel to be worth a thread team.
bool worth_threads(const BatchNormDims& d) {
  return d.n * d.c * d.s >= kParallelElements;
}

// Calls row(i, ch) for the rows of this thread's block of channels, in memory order: image by
// image, so a pass over them is one stream. (Channel by channel, a channel's rows lie a whole
// image apart: on small planes each cache line would come in once for every channel in it.)
// Inside a parallel region the channels are split into contiguous blocks; each channel is still
// summed image by image, so nothing depends on the thread count.
template <class Row>
void for_rows(const BatchNormDims& d, Row row) {
  const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
  const int64_t c0 = d.c * t / nt, c1 = d.c * (t + 1) / nt;
  for (int64_t i = 0; i < d.n; ++i)
    for (int64_t ch = c0; ch < c1; ++ch)
      row(i, ch);
}
template <class Channel>
void for_channels(const BatchNormDims& d, Channel channel) {
  const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
  for (int64_t ch = d.c * t / nt; ch < d.c * (t + 1) / nt; ++ch)
    channel(ch);
}

// With one value per channel the batch variance is 0 and the output is just beta: training on
// it is a mistake, and the unbiased running variance m / (m - 1) would divide by zero.
void check_values_per_channel(double m, const Shape& xs, bool synchronized) {
  PRISM_CHECK(m >= 2,
              "batch_normalization: training needs at least 2 values per channel (N * H * "
              "W), got "
                  << m << " for x " << to_string(xs)
                  << (synchronized ? " over the whole batch of a synchronized BN" : ""));
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
  if (train && !config.sum_over_batch) check_values_per_channel(d.m(), xs, false);
  config.check("batch_normalization");
  return d;
}

// What backward reads and writes, as plain pointers (gx null when x needs no gradient).
struct BackwardArgs {
  const float *x, *gy, *gamma, *mean, *inv_std;
  const uint8_t* positive;  // the fused ReLU's mask, bit set where y > 0 (BatchNormDims)
  float *gx, *ggamma, *gbeta;
  bool train;
};

// A thread's view of the gradient that reaches the normalization, row by row: gy, or with the
// ReLU fused (Relu), gy where y > 0, the row's mask unpacked into `flags` when it is reached.
template <bool Relu>
struct GradientRows {
  const BatchNormDims& d;
  const BackwardArgs& a;
  std::vector<uint8_t> flags = std::vector<uint8_t>(Relu ? d.s : 0);
  const float* row(int64_t i, int64_t ch) {
    if (Relu) unpack_flags(a.positive + d.mask_at(i, ch), d.s, flags.data());
    return a.gy + d.at(i, ch);
  }
};

// Backward's first pass: dbeta = sum gy and dgamma = sum gy * xhat = inv_std * sum gy *
// (x - mean), xhat recomputed from x; rows in float, vectorized in a fixed order, the rows
// summed in double into sum_gy and sum_gy_dev.
template <bool Relu>
void sum_gradient_rows(const BatchNormDims& d, const BackwardArgs& a, double* sum_gy,
                       double* sum_gy_dev) {
  const int64_t s = d.s;  // a local: the stores below could alias d for all the compiler knows
  GradientRows<Relu> rows{d, a};
  for_rows(d, [&](int64_t i, int64_t ch) {
    const float* gy = rows.row(i, ch);
    const float* x = a.x + d.at(i, ch);
    const uint8_t* positive = rows.flags.data();
    const float mu = a.mean[ch];
    float part_gy = 0, part_dev = 0;
#pragma omp simd reduction(+ : part_gy, part_dev)
    for (int64_t k = 0; k < s; ++k) {
      const float gk = gy[k];  // loaded unconditionally, so the select vectorizes
      const float g = Relu && !positive[k] ? 0.0f : gk;
      part_gy += g;
      part_dev += g * (x[k] - mu);
    }
    sum_gy[ch] += part_gy;
    sum_gy_dev[ch] += part_dev;
  });
  for_channels(d, [&](int64_t ch) {
    a.gbeta[ch] = static_cast<float>(sum_gy[ch]);
    a.ggamma[ch] = static_cast<float>(sum_gy_dev[ch] * a.inv_std[ch]);
  });
}

// The second pass, dx from the sums over the m values of each channel (the whole batch's):
// Train: the batch mean and variance depend on x, so
//   dx = gamma * inv_std * (gy - mean(gy) - xhat * mean(gy * xhat)).
// Eval: the running statistics are constants, dx = gamma * inv_std * gy.
template <bool Relu>
void input_gradient_rows(const BatchNormDims& d, const BackwardArgs& a, const double* sum_gy,
                         const double* sum_gy_dev, double m) {
  const int64_t s = d.s;
  GradientRows<Relu> rows{d, a};
  for_rows(d, [&](int64_t i, int64_t ch) {
    const float* gy = rows.row(i, ch);
    const float* x = a.x + d.at(i, ch);
    const uint8_t* positive = rows.flags.data();
    float* gx = a.gx + d.at(i, ch);
    const float mu = a.mean[ch], istd = a.inv_std[ch], scale = a.gamma[ch] * istd;
    const float mean_gy = a.train ? static_cast<float>(sum_gy[ch] / m) : 0.0f;
    const float dev_coef = a.train ? static_cast<float>(sum_gy_dev[ch] * istd / m) * istd : 0.0f;
#pragma omp simd
    for (int64_t k = 0; k < s; ++k) {
      const float gk = gy[k];
      const float g = Relu && !positive[k] ? 0.0f : gk;
      gx[k] = scale * (g - mean_gy - (x[k] - mu) * dev_coef);
    }
  });
}

// Both sums of every channel summed over the processes of a synchronized BN, in one call.
void sum_pair_over_batch(const BatchNormConfig& config, std::vector<double>& a,
                         std::vector<double>& b) {
  std::vector<double> both(a);
  both.insert(both.end(), b.begin(), b.end());
  config.sum_over_batch(both);
  std::copy(both.begin(), both.begin() + static_cast<int64_t>(a.size()), a.begin());
  std::copy(both.begin() + static_cast<int64_t>(a.size()), both.end(), b.begin());
}

}  // namespace

Variable batch_normalization(const Variable& x, const Variable& gamma, const Variable& beta,
                             const Tensor& running_mean, const Tensor& running_var, bool train,
                             BatchNormConfig config) {
  profile::Scope scope(config.relu ? "batch_norm_relu" : "batch_norm");
  const BatchNormDims d =
      check_batch_norm(x, gamma, beta, running_mean, running_var, train, config);
  const Tensor tx = x.data(), tg = gamma.data(), tb = beta.data();
  Tensor y = Tensor::empty(x.shape());
  // The fused ReLU's backward needs only where y > 0: a bit each, not y itself.
  const int64_t mask_bytes = config.relu ? d.n * d.c * d.mask_row_bytes() : 0;
  std::shared_ptr<uint8_t> positive = memory::allocate_array<uint8_t>(mask_bytes);
  // Backward recomputes xhat = (x - mean) * inv_std from x, which its node keeps anyway.
  Tensor mean = Tensor::empty({d.c}), inv_std = Tensor::empty({d.c});
  double m = static_cast<double>(d.m());  // the whole batch's, with config.sum_over_batch
  const bool relu = config.relu, sync = static_cast<bool>(config.sum_over_batch);
  const float* xd = tx.data();
  float* yd = y.data();
  // Per channel: the sums in double, then y = gamma * (x - mean) * inv_std + beta = a * x + c.
  std::vector<double> sum(d.c, 0.0), squares(d.c, 0.0);
  std::vector<float> a(d.c), c(d.c);
  if (train) {
    // Two passes: the mean first, then the centred squares (no cancellation). Each row of S
    // values is summed in float (vectorized, in a fixed order), the rows in double.
#pragma omp parallel if (worth_threads(d))
    for_rows(d, [&](int64_t i, int64_t ch) {
      const float* row = xd + d.at(i, ch);
      float part = 0;
#pragma omp simd reduction(+ : part)
      for (int64_t k = 0; k < d.s; ++k)
        part += row[k];
      sum[ch] += part;
    });
    if (sync) {  // the count travels with the sums: the parts of the batch may differ
      sum.push_back(m);
      config.sum_over_batch(sum);
      m = sum.back();
      sum.pop_back();
      check_values_per_channel(m, x.shape(), true);
    }
#pragma omp parallel if (worth_threads(d))
    for_rows(d, [&](int64_t i, int64_t ch) {
      const float* row = xd + d.at(i, ch);
      const float muf = static_cast<float>(sum[ch] / m);
      float part = 0;
#pragma omp simd reduction(+ : part)
      for (int64_t k = 0; k < d.s; ++k)
        part += (row[k] - muf) * (row[k] - muf);
      squares[ch] += part;
    });
    if (sync) config.sum_over_batch(squares);
  }
#pragma omp parallel if (worth_threads(d))
  {
    for_channels(d, [&](int64_t ch) {
      double mu = running_mean[ch], var = running_var[ch];
      if (train) {
        mu = sum[ch] / m;
        var = squares[ch] / m;  // biased: what normalizes this batch
        const double keep = config.decay, take = 1.0 - config.decay;
        running_mean[ch] = static_cast<float>(keep * running_mean[ch] + take * mu);
        running_var[ch] = static_cast<float>(keep * running_var[ch] + take * var * m / (m - 1));
      }
      const double istd = 1.0 / std::sqrt(var + config.eps);
      mean[ch] = static_cast<float>(mu);
      inv_std[ch] = static_cast<float>(istd);
      a[ch] = static_cast<float>(tg[ch] * istd);
      c[ch] = static_cast<float>(tb[ch] - mu * tg[ch] * istd);
    });
    // The same threads' channels as for_channels' (for_rows splits alike): no barrier needed.
    std::vector<uint8_t> flags(relu ? d.s : 0);  // a row of the mask, a byte per value
    for_rows(d, [&](int64_t i, int64_t ch) {
      const float* in = xd + d.at(i, ch);
      float* out = yd + d.at(i, ch);
      const float ac = a[ch], cc = c[ch];
      if (!relu) {
#pragma omp simd
        for (int64_t k = 0; k < d.s; ++k)
          out[k] = ac * in[k] + cc;
        return;
      }
      uint8_t* mask = flags.data();
#pragma omp simd
      for (int64_t k = 0; k < d.s; ++k) {
        const float v = ac * in[k] + cc;
        out[k] = v > 0.0f ? v : 0.0f;
        mask[k] = v > 0.0f;
      }
      pack_flags(mask, d.s, positive.get() + d.mask_at(i, ch));
    });
  }
  // Backward keeps x, gamma, the statistics and the mask; not y.
  auto backward = [tx, tg, mean, inv_std, positive, d, m, train, relu, config](
                      std::vector<Variable>& in, const Tensor& gy) {
    Tensor gx, gg = Tensor::empty({d.c}), gb = Tensor::empty({d.c});
    if (in[0].requires_grad()) gx = Tensor::empty(gy.shape());
    const BackwardArgs args{tx.data(),      gy.data(), tg.data(), mean.data(), inv_std.data(),
                            positive.get(), gx.data(), gg.data(), gb.data(),   train};
    std::vector<double> sum_gy(d.c, 0.0), sum_gy_dev(d.c, 0.0);
#pragma omp parallel if (worth_threads(d))
    {
      if (relu)
        sum_gradient_rows<true>(d, args, sum_gy.data(), sum_gy_dev.data());
      else
        sum_gradient_rows<false>(d, args, sum_gy.data(), sum_gy_dev.data());
    }
    if (gx.defined()) {
      // gamma's and beta's gradients are this part's (above); dx needs the whole batch's sums.
      if (train && config.sum_over_batch) sum_pair_over_batch(config, sum_gy, sum_gy_dev);
#pragma omp parallel if (worth_threads(d))
      {
        if (relu)
          input_gradient_rows<true>(d, args, sum_gy.data(), sum_gy_dev.data(), m);
        else
          input_gradient_rows<false>(d, args, sum_gy.data(), sum_gy_dev.data(), m);
      }
    }
    if (in[0].requires_grad()) in[0].add_grad(std::move(gx));
    if (in[1].requires_grad()) in[1].add_grad(std::move(gg));
    if (in[2].requires_grad()) in[2].add_grad(std::move(gb));
  };
  return Variable::make(y, {x, gamma, beta}, std::move(backward));
}

}  // namespace prism
