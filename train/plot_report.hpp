// Line plots of logged values against another logged value, usually the epoch (Chainer's
// PlotReport), drawn here and saved as PNG with stb_image_write: a white 640x480 canvas, axes
// with round-numbered ticks and grid lines, one coloured line with markers per key, a legend,
// and the x key under the axis. Text is stb_easy_font's.
//
//   train::plot_png(log.entries(), {"main/loss", "validation/main/loss"}, "epoch",
//                "result/loss.png");
//
// Rows without the x key are skipped, as are missing or non-finite values of a key. The file is
// written through a temporary file and a rename.
#pragma once

#include <string>
#include <vector>

#include "train/observation.hpp"

namespace prism::train {

void plot_png(const std::vector<Observation>& rows, const std::vector<std::string>& keys,
              const std::string& x_key, const std::string& path);

}  // namespace prism::train
