#include "train/stop.hpp"

#include <atomic>
#include <csignal>

namespace prism::train {

namespace {

std::atomic<int> g_requested{0};                       // 0: no; else 1 + the signal
static_assert(std::atomic<int>::is_always_lock_free);  // safe in a signal handler

extern "C" void on_stop_signal(int signal) {
  if (g_requested.load() != 0) {  // the second one: as if no handler were installed
    std::signal(signal, SIG_DFL);
    std::raise(signal);
    return;
  }
  g_requested.store(1 + signal);
}

}  // namespace

void install_stop_handlers() {
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGPIPE, SIG_IGN);
}

void request_stop(int signal) {
  int none = 0;
  g_requested.compare_exchange_strong(none, 1 + signal);
}

bool stop_requested() {
  return g_requested.load() != 0;
}

int stop_signal() {
  const int v = g_requested.load();
  return v == 0 ? 0 : v - 1;
}

void clear_stop() {
  g_requested.store(0);
}

int stopped_exit_status(int signal) {
  return 128 + signal;
}

}  // namespace prism::train
