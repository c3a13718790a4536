#include "data/transforms.hpp"

#include <algorithm>

namespace prism::data {

Tensor pad_images(const Tensor& images, int64_t pad, float value) {
  PRISM_CHECK(images.defined() && images.dim() == 4 && pad >= 0,
              "pad_images: needs images [N, C, H, W] and pad >= 0, got " << shape_string(images)
                                                                         << " and pad " << pad);
  const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  const int64_t ph = h + 2 * pad, pw = w + 2 * pad;
  Tensor out = Tensor::full({n, c, ph, pw}, value);
  for (int64_t plane = 0; plane < n * c; ++plane)
    for (int64_t y = 0; y < h; ++y)
      std::copy_n(images.data() + (plane * h + y) * w, w,
                  out.data() + (plane * ph + y + pad) * pw + pad);
  return out;
}

std::shared_ptr<TensorDataset> pad_images(const TensorDataset& dataset, int64_t pad, float value) {
  return std::make_shared<TensorDataset>(pad_images(dataset.images(), pad, value),
                                         dataset.labels());
}

std::shared_ptr<TensorDataset> first_examples(const TensorDataset& dataset, int64_t n) {
  PRISM_CHECK(n >= 1 && n <= dataset.size(),
              "first_examples: n must be in [1, " << dataset.size() << "], got " << n);
  Shape shape = dataset.images().shape();
  shape[0] = n;
  const Labels labels(dataset.labels().begin(), dataset.labels().begin() + n);
  return std::make_shared<TensorDataset>(dataset.images().view(0, shape).clone(), labels);
}

namespace {

void check_image(const Tensor& image, const char* who) {
  PRISM_CHECK(image.defined() && image.dim() == 3,
              who << ": needs an image [C, H, W], got " << shape_string(image));
}

}  // namespace

Tensor normalize(const Tensor& image, const std::vector<float>& mean,
                 const std::vector<float>& stddev) {
  check_image(image, "normalize");
  const int64_t c = image.size(0), plane = image.size(1) * image.size(2);
  auto per_channel = [&](const std::vector<float>& v, const char* what) {
    PRISM_CHECK(v.size() == 1 || static_cast<int64_t>(v.size()) == c,
                "normalize: " << what << " has " << v.size() << " values for " << c
                              << " channels (give 1 or " << c << ")");
  };
  per_channel(mean, "mean");
  per_channel(stddev, "stddev");
  Tensor out(image.shape());
  for (int64_t k = 0; k < c; ++k) {
    const float m = mean[mean.size() == 1 ? 0 : k], s = stddev[stddev.size() == 1 ? 0 : k];
    PRISM_CHECK(s > 0, "normalize: stddev of channel " << k << " is " << s << ", not positive");
    for (int64_t i = 0; i < plane; ++i)
      out[k * plane + i] = (image[k * plane + i] - m) / s;
  }
  return out;
}

Tensor pad_image(const Tensor& image, int64_t pad, float value) {
  check_image(image, "pad_image");
  Shape batch{1};
  batch.insert(batch.end(), image.shape().begin(), image.shape().end());
  const Tensor padded = pad_images(image.view(0, batch), pad, value);
  return padded.view(0, {padded.size(1), padded.size(2), padded.size(3)});
}

Tensor random_crop(const Tensor& image, int64_t height, int64_t width, Rng& rng) {
  check_image(image, "random_crop");
  const int64_t c = image.size(0), h = image.size(1), w = image.size(2);
  PRISM_CHECK(height >= 1 && width >= 1 && height <= h && width <= w,
              "random_crop: a " << height << " x " << width << " window does not fit in "
                                << shape_string(image));
  const auto top = static_cast<int64_t>(rng.below(static_cast<uint64_t>(h - height + 1)));
  const auto left = static_cast<int64_t>(rng.below(static_cast<uint64_t>(w - width + 1)));
  Tensor out({c, height, width});
  for (int64_t k = 0; k < c; ++k)
    for (int64_t y = 0; y < height; ++y)
      std::copy_n(image.data() + (k * h + top + y) * w + left, width,
                  out.data() + (k * height + y) * width);
  return out;
}

Tensor random_flip(const Tensor& image, Rng& rng) {
  check_image(image, "random_flip");
  Tensor out = image.clone();
  if (rng.below(2) == 0) return out;
  const int64_t w = image.size(2);
  for (int64_t row = 0; row < image.size(0) * image.size(1); ++row)
    std::reverse(out.data() + row * w, out.data() + (row + 1) * w);
  return out;
}

}  // namespace prism::data
