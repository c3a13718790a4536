// Stopping a training run gracefully: a request that the Trainer honours between two steps
// (every rank agrees to stop after the same one, then a snapshot is written), as a cluster
// scheduler's SIGTERM or a Ctrl-C asks for it.
#pragma once

namespace prism::train {

// SIGTERM and SIGINT request a stop from then on; a second one ends the process at once (the
// signal's default action). SIGPIPE is ignored: a closed stdout (`train_vgg | head`) must not
// end a run before its snapshot, and what is printed then is lost while the log, plots and
// snapshots, which are files, are still written. Call it once, early in main.
void install_stop_handlers();

// What the handlers do, for programs and tests: async-signal-safe.
void request_stop(int signal = 0);
bool stop_requested();
int stop_signal();  // the signal that asked (0: request_stop() without one, or none)
void clear_stop();

// The exit status of a run that stopped on signal `signal`: 128 + signal, as a shell reports a
// process the signal ended (143 for SIGTERM, 130 for SIGINT), though here a snapshot was written.
int stopped_exit_status(int signal);

}  // namespace prism::train
