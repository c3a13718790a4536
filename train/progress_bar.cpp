#include "train/progress_bar.hpp"

#include <algorithm>
#include <cstdio>
#include <string>

#include "core/error.hpp"

namespace prism::train {

namespace {

std::string format_duration(double seconds) {
  const auto s = static_cast<int64_t>(std::max(0.0, seconds));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return buf;
}

}  // namespace

ProgressBar::ProgressBar(int64_t total_epochs, std::ostream& out, double interval_seconds)
    : total_epochs_(total_epochs), out_(out), interval_(interval_seconds) {
  PRISM_CHECK(total_epochs > 0, "ProgressBar: total_epochs must be positive, got " << total_epochs);
}

void ProgressBar::update(int64_t iteration, double epoch_detail, double loss) {
  const auto now = Clock::now();
  if (drawn_ && std::chrono::duration<double>(now - last_draw_).count() < interval_) return;
  last_draw_ = now;
  drawn_ = true;

  constexpr int kWidth = 20;
  const double fraction = std::clamp(epoch_detail / static_cast<double>(total_epochs_), 0.0, 1.0);
  const int filled = static_cast<int>(fraction * kWidth);
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(iteration) / elapsed : 0.0;
  const double eta = fraction > 0 ? elapsed * (1.0 - fraction) / fraction : 0.0;
  const int64_t epoch = std::min<int64_t>(static_cast<int64_t>(epoch_detail) + 1, total_epochs_);

  char line[160];
  std::snprintf(line, sizeof line,
                "\repoch %lld/%lld [%s%s] %5.1f%%  %lld iter  %.1f it/s  ETA %s  loss %.4f",
                static_cast<long long>(epoch), static_cast<long long>(total_epochs_),
                std::string(filled, '#').c_str(), std::string(kWidth - filled, '.').c_str(),
                100.0 * fraction, static_cast<long long>(iteration), rate,
                format_duration(eta).c_str(), loss);
  out_ << line << std::flush;
}

void ProgressBar::clear() {
  if (!drawn_) return;
  out_ << "\r\033[K" << std::flush;  // carriage return, then erase to the end of the line
  drawn_ = false;
}

void ProgressBar::end_line() {
  if (!drawn_) return;
  out_ << "\n" << std::flush;
  drawn_ = false;
}

}  // namespace prism::train
