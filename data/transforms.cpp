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
  return std::make_shared<TensorDataset>(dataset.images().view(0, shape), labels);
}

}  // namespace prism::data
