// Image folders: root/<class>/<image>, the layout most people already have their images in.
//
//   auto set = data::load_image_folder("flowers/train", {.channels = 3, .height = 32, .width =
//   32});
//
// Classes are the sub-folders sorted by name (label = position in that order); the images of a
// class are its files ending in .png, .jpg, .jpeg, .bmp, .tga or .gif (any case), sorted by
// name; other files are skipped. libjpeg-turbo decodes JPEG, stb_image the others (a GIF's first
// frame), into [C, H, W] floats in [0, 1], converted to gray (C = 1) or RGB (C = 3) as asked,
// then resized (bilinear) when a size is given; without one, every image must have the first
// one's size.
//
// Errors name the file: a corrupt or truncated image (with the decoder's reason), an image whose
// header claims more than kMaxImagePixels or more than kMaxPixelsPerByte per byte of the file
// (checked before anything is decoded), a class without images, a root without classes.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "data/idx.hpp"  // TrainTest

namespace prism::data {

struct ImageFolderOptions {
  int channels = 3;    // 1 (gray) or 3 (RGB)
  int64_t height = 0;  // with width: resize every image to height x width; 0: keep sizes
  int64_t width = 0;
};

// The largest image accepted, in pixels: its header is trusted only below this bound.
inline constexpr int64_t kMaxImagePixels = int64_t{1} << 26;
// And only up to this many pixels per byte of the file: above the best the formats compress to
// (deflate's 1032:1 on 1-bit PNG rows is about 8256; GIF's LZW about 2730; JPEG a few hundred),
// so a small file cannot make the decoder allocate much.
inline constexpr int64_t kMaxPixelsPerByte = int64_t{1} << 14;

struct ImageFolder {
  std::shared_ptr<TensorDataset> dataset;
  std::vector<std::string> classes;  // label i is classes[i]
};

ImageFolder load_image_folder(const std::filesystem::path& root, ImageFolderOptions options = {});

// root/train/<class>/... and root/test/<class>/...: both splits, which must have the same
// classes (checked), as the trainers' --dataset imagefolder reads them.
struct ImageFolderSplits {
  TrainTest data;
  std::vector<std::string> classes;
};
ImageFolderSplits load_image_folder_splits(const std::filesystem::path& root,
                                           ImageFolderOptions options = {});

// One image file, decoded as above: [channels, H, W] (resized when height and width are set).
Tensor read_image(const std::filesystem::path& path, ImageFolderOptions options = {});

// An image file's bytes (PNG, JPEG, BMP, TGA or GIF), decoded into [channels, H, W] floats in
// [0, 1] (channels 1 or 3); errors start with `where`.
Tensor decode_image(const std::string& bytes, int channels, const std::string& where);

}  // namespace prism::data
