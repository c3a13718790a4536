#include "train/plot_report.hpp"

// stb_easy_font is header-only with static functions, some of which we do not call.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb_easy_font.h>
#pragma GCC diagnostic pop
#include <stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>

#include "core/error.hpp"
#include "core/file.hpp"

namespace prism::train {

namespace {

struct Rgb {
  unsigned char r, g, b;
};
constexpr Rgb kWhite{255, 255, 255}, kBlack{0, 0, 0}, kGrid{225, 225, 225};
// matplotlib's first colours, so the plots look like the ones Chainer users know.
constexpr Rgb kLineColours[] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40}};
constexpr int kWidth = 640, kHeight = 480, kTextScale = 2;

struct Canvas {
  std::vector<unsigned char> rgb = std::vector<unsigned char>(kWidth * kHeight * 3, 255);

  void pixel(int x, int y, Rgb c) {
    if (x < 0 || y < 0 || x >= kWidth || y >= kHeight) return;
    unsigned char* p = &rgb[(static_cast<size_t>(y) * kWidth + x) * 3];
    p[0] = c.r, p[1] = c.g, p[2] = c.b;
  }
  void rect(int x0, int y0, int x1, int y1, Rgb c) {  // inclusive corners
    for (int y = std::min(y0, y1); y <= std::max(y0, y1); ++y)
      for (int x = std::min(x0, x1); x <= std::max(x0, x1); ++x)
        pixel(x, y, c);
  }
  // Bresenham, `thick` pixels wide.
  void line(int x0, int y0, int x1, int y1, Rgb c, int thick) {
    const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
    const int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    for (int err = dx + dy;;) {
      rect(x0 - thick / 2, y0 - thick / 2, x0 + (thick - 1) / 2, y0 + (thick - 1) / 2, c);
      if (x0 == x1 && y0 == y1) break;
      const int e2 = 2 * err;
      if (e2 >= dy) err += dy, x0 += sx;
      if (e2 <= dx) err += dx, y0 += sy;
    }
  }
  // Pixels in the rectangle that are neither of two colours (the background and the grid).
  int count_not(int x0, int y0, int x1, int y1, Rgb a, Rgb b) const {
    int n = 0;
    for (int y = std::max(0, y0); y <= std::min(kHeight - 1, y1); ++y)
      for (int x = std::max(0, x0); x <= std::min(kWidth - 1, x1); ++x) {
        const unsigned char* p = &rgb[(static_cast<size_t>(y) * kWidth + x) * 3];
        n += !(p[0] == a.r && p[1] == a.g && p[2] == a.b) &&
             !(p[0] == b.r && p[1] == b.g && p[2] == b.b);
      }
    return n;
  }
  // stb_easy_font draws text as axis-aligned quads: fill each, scaled.
  void text(int x, int y, const std::string& s, Rgb c) {
    std::string printable = s;
    for (char& ch : printable)
      if (ch < 32 || ch > 126) ch = '?';
    // A quad is 4 vertices of 16 bytes; no glyph has more than 16 segments.
    std::vector<char> quads(printable.size() * 16 * 64 + 64);
    const int n = stb_easy_font_print(0, 0, printable.data(), nullptr, quads.data(),
                                      static_cast<int>(quads.size()));
    for (int q = 0; q < n; ++q) {
      const float* v0 = reinterpret_cast<const float*>(quads.data() + q * 64);
      const float* v2 = reinterpret_cast<const float*>(quads.data() + q * 64 + 32);
      rect(x + static_cast<int>(v0[0]) * kTextScale, y + static_cast<int>(v0[1]) * kTextScale,
           x + static_cast<int>(v2[0]) * kTextScale - 1,
           y + static_cast<int>(v2[1]) * kTextScale - 1, c);
    }
  }
};

int text_width(const std::string& s) {
  std::string copy = s;
  return stb_easy_font_width(copy.data()) * kTextScale;
}

std::optional<double> lookup(const Observation& row, const std::string& key) {
  for (const auto& [k, v] : row)
    if (k == key && std::isfinite(v)) return v;
  return std::nullopt;
}

// Round tick positions covering [lo, hi] (about 5): steps of 1, 2 or 5 times a power of ten.
std::vector<double> ticks(double lo, double hi) {
  const double raw = (hi - lo) / 5, magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude * 10;
  for (double m : {1.0, 2.0, 5.0})
    if (m * magnitude >= raw) {
      step = m * magnitude;
      break;
    }
  std::vector<double> out;
  const double first = std::ceil(lo / step) * step;
  for (int i = 0; i < 20; ++i) {  // counted, not accumulated: a step below an ulp cannot stall
    const double t = first + i * step;
    if (t > hi + step * 1e-9) break;
    out.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  }
  return out;
}

std::string label(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// [lo, hi] widened so a flat series or a single point still spans the axis ("flat" relative to
// the values' size, so ticks never get finer than the doubles can tell apart).
void widen(double& lo, double& hi, double margin) {
  if (hi - lo <= 1e-9 * std::max({std::abs(lo), std::abs(hi), 1.0})) {
    const double pad = std::max(std::abs(lo) * 0.1, 0.5);
    lo -= pad, hi += pad;
  } else {
    const double pad = (hi - lo) * margin;
    lo -= pad, hi += pad;
  }
}

void write_png(const Canvas& canvas, const std::string& path) {
  std::string bytes;
  auto append = [](void* to, void* data, int size) {
    static_cast<std::string*>(to)->append(static_cast<const char*>(data), size);
  };
  PRISM_CHECK(
      stbi_write_png_to_func(append, &bytes, kWidth, kHeight, 3, canvas.rgb.data(), kWidth * 3),
      "plot_png: encoding " << path << " failed");
  write_file_atomic(path, bytes, "plot_png");
}

}  // namespace

void plot_png(const std::vector<Observation>& rows, const std::vector<std::string>& keys,
              const std::string& x_key, const std::string& path) {
  PRISM_CHECK(
      !keys.empty() && keys.size() <= std::size(kLineColours),
      "plot_png: between 1 and " << std::size(kLineColours) << " keys, got " << keys.size());
  // The points of each key, and the ranges they span.
  std::vector<std::vector<std::pair<double, double>>> series(keys.size());
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  for (const Observation& row : rows) {
    const std::optional<double> x = lookup(row, x_key);
    if (!x) continue;
    for (size_t k = 0; k < keys.size(); ++k)
      if (const std::optional<double> y = lookup(row, keys[k])) {
        series[k].emplace_back(*x, *y);
        x_lo = std::min(x_lo, *x), x_hi = std::max(x_hi, *x);
        y_lo = std::min(y_lo, *y), y_hi = std::max(y_hi, *y);
      }
  }
  if (x_lo > x_hi) x_lo = y_lo = 0, x_hi = y_hi = 1;  // nothing to plot yet: empty axes
  widen(x_lo, x_hi, 0.03);                            // room for the end markers
  widen(y_lo, y_hi, 0.05);

  Canvas c;
  const int left = 80, right = kWidth - 20, top = 20, bottom = kHeight - 60;
  auto px = [&](double x) {
    return left + static_cast<int>(std::lround((x - x_lo) / (x_hi - x_lo) * (right - left)));
  };
  auto py = [&](double y) {
    return bottom - static_cast<int>(std::lround((y - y_lo) / (y_hi - y_lo) * (bottom - top)));
  };
  for (double t : ticks(x_lo, x_hi)) {
    c.line(px(t), top, px(t), bottom, kGrid, 1);
    c.line(px(t), bottom, px(t), bottom + 5, kBlack, 1);
    c.text(px(t) - text_width(label(t)) / 2, bottom + 10, label(t), kBlack);
  }
  for (double t : ticks(y_lo, y_hi)) {
    c.line(left, py(t), right, py(t), kGrid, 1);
    c.line(left - 5, py(t), left, py(t), kBlack, 1);
    c.text(left - 10 - text_width(label(t)), py(t) - 6, label(t), kBlack);
  }
  c.line(left, top, left, bottom, kBlack, 1);
  c.line(left, bottom, right, bottom, kBlack, 1);
  c.text((left + right - text_width(x_key)) / 2, bottom + 36, x_key, kBlack);

  for (size_t k = 0; k < keys.size(); ++k) {
    const Rgb colour = kLineColours[k];
    for (size_t i = 0; i < series[k].size(); ++i) {
      const int x = px(series[k][i].first), y = py(series[k][i].second);
      if (i > 0) c.line(px(series[k][i - 1].first), py(series[k][i - 1].second), x, y, colour, 2);
      c.rect(x - 3, y - 3, x + 3, y + 3, colour);
    }
  }
  // The legend, on white, in the corner that hides the fewest plotted pixels.
  int legend_w = 0;
  for (const std::string& key : keys)
    legend_w = std::max(legend_w, text_width(key));
  const int box_w = legend_w + 44, box_h = 20 * static_cast<int>(keys.size()) + 6;
  int best_x = right - box_w - 4, best_y = top + 4, best_hidden = -1;
  for (int corner = 0; corner < 4; ++corner) {
    const int bx = corner % 2 ? left + 8 : right - box_w - 4;
    const int by = corner / 2 ? bottom - box_h - 4 : top + 4;
    const int hidden = c.count_not(bx, by, bx + box_w, by + box_h, kWhite, kGrid);
    if (best_hidden < 0 || hidden < best_hidden) best_x = bx, best_y = by, best_hidden = hidden;
  }
  c.rect(best_x, best_y, best_x + box_w, best_y + box_h, kWhite);
  for (size_t k = 0; k < keys.size(); ++k) {
    const int y = best_y + 6 + 20 * static_cast<int>(k);
    c.line(best_x + 6, y + 6, best_x + 30, y + 6, kLineColours[k], 2);
    c.text(best_x + 38, y, keys[k], kBlack);
  }
  write_png(c, path);
}

}  // namespace prism::train
