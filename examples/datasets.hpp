// The datasets the 32x32 examples read (train_vgg, train_resnet, evaluate), by the names their
// --dataset takes.
#pragma once

#include <string>
#include <utility>

#include "prism.hpp"

namespace prism::examples {

struct DatasetOptions {
  std::string dataset = "fashion-mnist";  // fashion-mnist, cifar10, cifar100 or imagefolder
  std::string data_dir;                   // default: the dataset's usual place
  int64_t train_size = 0;                 // 0: the whole training set; else its first N examples
  int64_t test_size = 0;
};

inline void check_dataset_options(const DatasetOptions& opt, const std::string& program) {
  PRISM_CHECK(opt.dataset == "fashion-mnist" || opt.dataset == "cifar10" ||
                  opt.dataset == "cifar100" || opt.dataset == "imagefolder",
              program << ": --dataset is fashion-mnist, cifar10, cifar100 or imagefolder, not "
                      << opt.dataset);
  PRISM_CHECK(opt.dataset == "fashion-mnist" || !opt.data_dir.empty(),
              program << ": --dataset " << opt.dataset << " needs --data-dir");
  PRISM_CHECK(opt.train_size >= 0 && opt.test_size >= 0,
              program << ": --train-size and --test-size are 0 (all) or more, got "
                      << opt.train_size << " and " << opt.test_size);
}

// The splits as 32x32 images, and the number of classes. Fashion-MNIST's 28x28 images are
// padded to 32x32; CIFAR reads the binary version's files; an image folder D holds
// D/train/<class>/* and D/test/<class>/*, read as RGB resized to 32x32.
inline std::pair<data::TrainTest, int64_t> load_dataset(const DatasetOptions& opt) {
  data::TrainTest data;
  int64_t classes = opt.dataset == "cifar100" ? 100 : 10;
  if (opt.dataset == "fashion-mnist") {
    data = data::load_mnist_like(opt.data_dir.empty() ? std::string(data::kDebianFashionMnistDir)
                                                      : opt.data_dir);
    data.train = data::pad_images(*data.train, 2);  // 28x28 -> 32x32
    data.test = data::pad_images(*data.test, 2);
  } else if (opt.dataset == "imagefolder") {
    data::ImageFolderSplits folder =
        data::load_image_folder_splits(opt.data_dir, {.channels = 3, .height = 32, .width = 32});
    data = folder.data;
    classes = static_cast<int64_t>(folder.classes.size());
  } else {
    data = opt.dataset == "cifar10" ? data::load_cifar10(opt.data_dir)
                                    : data::load_cifar100(opt.data_dir);
  }
  auto [train, test] = data;
  if (opt.train_size > 0) train = data::first_examples(*train, opt.train_size);
  if (opt.test_size > 0) test = data::first_examples(*test, opt.test_size);
  return {{train, test}, classes};
}

// --partition and --layout, as nn::VGG16 takes them; an error names what is accepted.
inline nn::Partition parse_partition(const std::string& s, const std::string& program) {
  PRISM_CHECK(s == "seed" || s == "filter",
              program << ": --partition is seed or filter, not " << s);
  return s == "seed" ? nn::Partition::seed : nn::Partition::filter;
}
inline nn::Layout parse_layout(const std::string& s, const std::string& program) {
  PRISM_CHECK(s == "sharded" || s == "gathered",
              program << ": --layout is sharded or gathered, not " << s);
  return s == "sharded" ? nn::Layout::sharded : nn::Layout::gathered;
}

}  // namespace prism::examples
