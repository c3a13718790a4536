#include "data/image_folder.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/error.hpp"
#include "core/file.hpp"

namespace prism::data {

namespace fs = std::filesystem;

namespace {

bool is_image(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* known : {".png", ".jpg", ".jpeg", ".bmp", ".tga", ".gif"})
    if (ext == known) return true;
  return false;
}

std::vector<fs::path> sorted_entries(const fs::path& dir, bool want_dirs) {
  std::vector<fs::path> out;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().starts_with(".")) continue;  // hidden
    if (want_dirs ? e.is_directory() : (e.is_regular_file() && is_image(e.path())))
      out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Bilinear resampling of [C, H, W] to [C, h, w], pixel centres aligned (as most libraries do).
Tensor resize(const Tensor& img, int64_t h, int64_t w) {
  const int64_t c = img.size(0), ih = img.size(1), iw = img.size(2);
  Tensor out({c, h, w});
  auto source = [](int64_t o, int64_t in, int64_t out_size, int64_t& lo, float& frac) {
    const float s = std::clamp(
        (static_cast<float>(o) + 0.5f) * static_cast<float>(in) / static_cast<float>(out_size) -
            0.5f,
        0.0f, static_cast<float>(in - 1));
    lo = std::min<int64_t>(static_cast<int64_t>(s), in - 1);
    frac = s - static_cast<float>(lo);
  };
  for (int64_t y = 0; y < h; ++y) {
    int64_t y0;
    float fy;
    source(y, ih, h, y0, fy);
    const int64_t y1 = std::min(y0 + 1, ih - 1);
    for (int64_t x = 0; x < w; ++x) {
      int64_t x0;
      float fx;
      source(x, iw, w, x0, fx);
      const int64_t x1 = std::min(x0 + 1, iw - 1);
      for (int64_t k = 0; k < c; ++k) {
        const float* p = img.data() + k * ih * iw;
        const float top = p[y0 * iw + x0] * (1 - fx) + p[y0 * iw + x1] * fx;
        const float bottom = p[y1 * iw + x0] * (1 - fx) + p[y1 * iw + x1] * fx;
        out.data()[(k * h + y) * w + x] = top * (1 - fy) + bottom * fy;
      }
    }
  }
  return out;
}

}  // namespace

Tensor read_image(const fs::path& path, ImageFolderOptions opt) {
  PRISM_CHECK(opt.channels == 1 || opt.channels == 3,
              "read_image: channels is 1 or 3, got " << opt.channels);
  PRISM_CHECK((opt.height == 0) == (opt.width == 0) && opt.height >= 0 && opt.width >= 0,
              "read_image: give both height and width (positive) or neither, got "
                  << opt.height << " x " << opt.width);
  const Tensor img = decode_image(read_file(path.string(), "read_image"), opt.channels,
                                  "read_image: " + path.string());
  const int64_t h = img.size(1), w = img.size(2);
  if (opt.height > 0 && (opt.height != h || opt.width != w))
    return resize(img, opt.height, opt.width);
  return img;
}

ImageFolder load_image_folder(const fs::path& root, ImageFolderOptions opt) {
  PRISM_CHECK(fs::is_directory(root), "load_image_folder: " << root.string() << " is not a folder");
  ImageFolder out;
  std::vector<Tensor> images;
  Labels labels;
  for (const fs::path& dir : sorted_entries(root, true)) {
    const std::vector<fs::path> files = sorted_entries(dir, false);
    PRISM_CHECK(!files.empty(), "load_image_folder: class folder "
                                    << dir.string()
                                    << " has no .png, .jpg, .jpeg, .bmp, .tga or .gif files");
    for (const fs::path& file : files) {
      images.push_back(read_image(file, opt));
      PRISM_CHECK(images.back().shape() == images.front().shape(),
                  "load_image_folder: " << file.string() << " is "
                                        << to_string(images.back().shape()) << " but "
                                        << to_string(images.front().shape())
                                        << " came first; give a height and width to resize");
      labels.push_back(static_cast<int32_t>(out.classes.size()));
    }
    out.classes.push_back(dir.filename().string());
  }
  PRISM_CHECK(!out.classes.empty(),
              "load_image_folder: " << root.string() << " has no class folders");
  Shape shape = images.front().shape();
  shape.insert(shape.begin(), static_cast<int64_t>(images.size()));
  Tensor all(shape);
  for (size_t i = 0; i < images.size(); ++i)
    std::copy_n(images[i].data(), images[i].numel(),
                all.data() + static_cast<int64_t>(i) * images[i].numel());
  out.dataset = std::make_shared<TensorDataset>(std::move(all), std::move(labels));
  return out;
}

ImageFolderSplits load_image_folder_splits(const fs::path& root, ImageFolderOptions opt) {
  ImageFolder train = load_image_folder(root / "train", opt);
  ImageFolder test = load_image_folder(root / "test", opt);
  PRISM_CHECK(train.classes == test.classes,
              "load_image_folder_splits: "
                  << root.string() << ": train has " << train.classes.size() << " classes and test "
                  << test.classes.size() << "; both need the same class folders");
  return {{train.dataset, test.dataset}, train.classes};
}

}  // namespace prism::data
