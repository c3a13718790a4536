// loader_bench: how fast the data side delivers images, against what a training step consumes
// (VGG16 at batch 64 takes about 0.5 s on this project's 2-core machine: ~130 images/s).
//
// Names: loader/<what>, counter images_per_s.
//   loader/serial_batches       SerialIterator over an in-memory [N, 1, 32, 32] dataset, batch 64;
//   loader/prefetch_batches     the same behind a PrefetchIterator (depth 2);
//   loader/decode_png_32x32     read_image of one 32x32 RGB PNG from disk (the image-folder path);
//   loader/cifar_records        load_cifar's decoding of 3073-byte records, per image.
#include <benchmark/benchmark.h>
#include <stb_image_write.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "core/file.hpp"
#include "core/rng.hpp"
#include "data/cifar.hpp"
#include "data/image_folder.hpp"
#include "data/iterator.hpp"
#include "data/prefetch_iterator.hpp"

namespace {

using namespace prism;
namespace fs = std::filesystem;

constexpr int64_t kBatch = 64;

std::shared_ptr<data::TensorDataset> images(int64_t n) {
  Tensor x({n, 1, 32, 32});
  Rng(1).fill_uniform(x, 0.0f, 1.0f);
  return std::make_shared<data::TensorDataset>(x, Labels(static_cast<size_t>(n), 3));
}

void set_rate(benchmark::State& state, int64_t per_iteration) {
  state.counters["images_per_s"] =
      benchmark::Counter(double(per_iteration), benchmark::Counter::kIsIterationInvariantRate);
}

void bm_batches(benchmark::State& state, bool prefetch) {
  std::unique_ptr<data::Iterator> it =
      std::make_unique<data::SerialIterator>(images(60000), kBatch, true, true, 0);
  if (prefetch) it = std::make_unique<data::PrefetchIterator>(std::move(it), 2);
  for (auto _ : state)
    benchmark::DoNotOptimize(it->next());
  set_rate(state, kBatch);
}

// A scratch folder for the file benchmarks, removed at the end.
struct Scratch {
  fs::path dir = fs::temp_directory_path() / ("prism_loader_bench_" + std::to_string(::getpid()));
  Scratch() { fs::create_directories(dir); }
  ~Scratch() { fs::remove_all(dir); }
};

// A 32x32 RGB image written as PNG (stb_image decodes it) or JPEG (libjpeg-turbo), read back.
void bm_decode(benchmark::State& state, const std::string& format) {
  Scratch scratch;
  std::vector<unsigned char> rgb(32 * 32 * 3);
  for (size_t i = 0; i < rgb.size(); ++i)
    rgb[i] = static_cast<unsigned char>(i * 7);
  const fs::path file = scratch.dir / ("x." + format);
  if (format == "png")
    stbi_write_png(file.c_str(), 32, 32, 3, rgb.data(), 32 * 3);
  else
    stbi_write_jpg(file.c_str(), 32, 32, 3, rgb.data(), 90);
  for (auto _ : state)
    benchmark::DoNotOptimize(data::read_image(file));
  set_rate(state, 1);
}

void bm_cifar(benchmark::State& state) {
  Scratch scratch;
  constexpr int kRecords = 10000;
  std::string bytes(static_cast<size_t>(kRecords) * 3073, '\x05');
  write_file_atomic((scratch.dir / "batch.bin").string(), bytes, "loader_bench");
  for (auto _ : state)
    benchmark::DoNotOptimize(data::read_cifar_file(scratch.dir / "batch.bin", 1, 10));
  set_rate(state, kRecords);
}

}  // namespace

// Real time throughout: the prefetching thread's work does not show in the caller's CPU time.
BENCHMARK_CAPTURE(bm_batches, serial_batches, false)->Name("loader/serial_batches")->UseRealTime();
BENCHMARK_CAPTURE(bm_batches, prefetch_batches, true)
    ->Name("loader/prefetch_batches")
    ->UseRealTime();
BENCHMARK_CAPTURE(bm_decode, png, "png")->Name("loader/decode_png_32x32")->UseRealTime();
BENCHMARK_CAPTURE(bm_decode, jpeg, "jpg")->Name("loader/decode_jpeg_32x32")->UseRealTime();
BENCHMARK(bm_cifar)->Name("loader/cifar_records")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
