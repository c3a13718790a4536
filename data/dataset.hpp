// Datasets: a random-access collection of (input tensor, integer label) examples.
// Loaders (IDX files, CIFAR binaries, image folders) produce Datasets, and iterators
// (data/iterator.hpp) turn a Dataset into batches.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/tensor.hpp"
#include "core/types.hpp"

namespace prism::data {

struct Example {
  Tensor x;           // one input, e.g. [C, H, W] for an image
  int32_t label = 0;  // class index
};

// Subclasses implement size() and get_example(); callers use get(), which checks the index
// first, so no subclass can be reached with an index out of range.
class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Throws prism::Error unless 0 <= i < size().
  Example get(int64_t i) const;

 protected:
  // Called with 0 <= i < size() only.
  virtual Example get_example(int64_t i) const = 0;
};

// Examples held in memory: images [N, ...] with one label per row. get(i) returns a copy of
// row i, shape [...], so a caller may modify it freely.
class TensorDataset : public Dataset {
 public:
  TensorDataset(Tensor images, Labels labels);

  int64_t size() const override { return static_cast<int64_t>(labels_.size()); }
  const Tensor& images() const { return images_; }
  const Labels& labels() const { return labels_; }

 protected:
  Example get_example(int64_t i) const override;

 private:
  Tensor images_;
  Labels labels_;
  Shape example_shape_;  // images' shape without the leading N
};

// Chainer's SubDataset: examples `indices` of `base`, in that order (an index may repeat).
// Shares the base; get(i) is base->get(indices[i]).
class SubDataset : public Dataset {
 public:
  SubDataset(std::shared_ptr<const Dataset> base, std::vector<int64_t> indices);
  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  const std::vector<int64_t>& indices() const { return indices_; }

 protected:
  Example get_example(int64_t i) const override;

 private:
  std::shared_ptr<const Dataset> base_;
  std::vector<int64_t> indices_;
};

// Chainer's TransformDataset: get(i) is transform(base->get(i)), computed on each get. For
// random augmentation, the transform draws from a generator it owns (see data/transforms.hpp);
// it is then called in the order examples are read, so keep one reader (e.g. a
// PrefetchIterator's thread) per TransformDataset.
class TransformDataset : public Dataset {
 public:
  using Transform = std::function<Example(Example)>;
  TransformDataset(std::shared_ptr<const Dataset> base, Transform transform);
  int64_t size() const override { return base_->size(); }

 protected:
  Example get_example(int64_t i) const override;

 private:
  std::shared_ptr<const Dataset> base_;
  Transform transform_;
};

struct Split {
  std::shared_ptr<SubDataset> first, second;
};
// Chainer's split_dataset: examples [0, first_size) and [first_size, size), 0 <= first_size <=
// size.
Split split_dataset(std::shared_ptr<const Dataset> dataset, int64_t first_size);
// split_dataset_random: the same sizes, over a permutation drawn from `seed` (a validation split
// that one seed reproduces everywhere).
Split split_dataset_random(std::shared_ptr<const Dataset> dataset, int64_t first_size,
                           uint64_t seed);

// A dataset's two splits, as the loaders return them (load_mnist_like, load_cifar10, ...).
struct TrainTest {
  std::shared_ptr<TensorDataset> train;
  std::shared_ptr<TensorDataset> test;
};

}  // namespace prism::data
