#include "optim/data_parallel.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "dist/collectives.hpp"

namespace prism::optim {

namespace {

// Parameters whose gradients travel together in one allreduce, packed into `buffer`.
struct Bucket {
  std::vector<size_t> params;    // indices into State::params, in the order backward makes them
  std::vector<int64_t> offsets;  // of each one's gradient in buffer
  Tensor buffer;
  size_t arrived = 0;
  std::unique_ptr<dist::AllreduceInFlight> flight;
};

}  // namespace

struct DataParallel::State {
  dist::Communicator comm;
  NamedParameters params;
  std::vector<Bucket> buckets;
  struct Place {
    size_t bucket, index;  // params[i] is buckets[bucket].params[index]
  };
  std::vector<Place> place;   // by parameter
  std::vector<bool> arrived;  // by parameter, in this backward
  size_t launched = 0;        // buckets 0 .. launched - 1 are in flight or done

  // A parameter's gradient is complete: into its bucket, and the buckets that are full leave.
  void on_gradient(size_t i) {
    const std::string& name = params[i].first;
    PRISM_CHECK(!arrived[i], "DataParallel: a second backward reached parameter '"
                                 << name << "' before update(); one backward per update (the "
                                 << "first one's gradients have left with their bucket)");
    PRISM_CHECK(params[i].second.has_grad(), "DataParallel: backward reached parameter '"
                                                 << name << "' but gave it no gradient");
    arrived[i] = true;
    Bucket& b = buckets[place[i].bucket];
    const Tensor& g = params[i].second.grad();
    std::memcpy(b.buffer.data() + b.offsets[place[i].index], g.data(), sizeof(float) * g.numel());
    ++b.arrived;
    while (launched < buckets.size() &&
           buckets[launched].arrived == buckets[launched].params.size()) {
      Bucket& full = buckets[launched++];
      full.flight = std::make_unique<dist::AllreduceInFlight>(comm, full.buffer);
    }
    for (size_t j = 0; j < launched; ++j)  // let MPI move what is in flight
      buckets[j].flight->test();
  }

  // Waits for the buckets in flight and forgets this backward's gradients.
  void reset() {
    for (Bucket& b : buckets) {
      if (b.flight) b.flight->wait();
      b.flight.reset();
      b.arrived = 0;
    }
    std::fill(arrived.begin(), arrived.end(), false);
    launched = 0;
  }

  // The optimizer's hook: every gradient averaged, before the rules run.
  void before_update() {
    for (size_t i = 0; i < params.size(); ++i) {
      if (arrived[i]) continue;
      reset();  // no request left pending, and a caller that catches this starts clean
      PRISM_FAIL("DataParallel: parameter '"
                 << params[i].first << "' got no gradient before update(); every "
                 << "rank must give every parameter a gradient each step");
    }
    const float inv = 1.0f / static_cast<float>(comm.size());
    for (Bucket& b : buckets) {
      b.flight->wait();
      for (size_t k = 0; k < b.params.size(); ++k) {
        const Tensor& g = params[b.params[k]].second.grad();
        const float* sum = b.buffer.data() + b.offsets[k];
        float* out = g.data();
        for (int64_t e = 0; e < g.numel(); ++e)
          out[e] = sum[e] * inv;
      }
    }
    reset();
  }
};

DataParallel::DataParallel(dist::Communicator comm, Optimizer& optimizer, int64_t bucket_bytes)
    : state_(std::make_shared<State>()) {
  PRISM_CHECK(bucket_bytes >= 1, "DataParallel: bucket_bytes must be >= 1, got " << bucket_bytes);
  State& s = *state_;
  s.comm = std::move(comm);
  for (const auto& named : optimizer.named_parameters())
    if (named.second.requires_grad()) s.params.push_back(named);
  PRISM_CHECK(!s.params.empty(), "DataParallel: the optimizer has no parameter that requires grad");
  for (const auto& [name, p] : s.params) {
    PRISM_CHECK(!p.has_grad_hook(), "DataParallel: parameter '"
                                        << name << "' already has a gradient hook (one "
                                        << "DataParallel per set of parameters)");
    if (s.comm.size() == 1) continue;  // alone: nothing to broadcast, and no MPI needed
    const Tensor root = dist::bcast(s.comm, p.data(), 0);
    if (s.comm.rank() != 0) p.data().copy_from(root);
  }

  // Buckets in reverse parameter order: the last layers' gradients come first in backward.
  s.place.resize(s.params.size());
  s.arrived.assign(s.params.size(), false);
  std::vector<int64_t> floats;  // by bucket
  for (size_t i = s.params.size(); i-- > 0;) {
    if (s.buckets.empty() || floats.back() * int64_t{sizeof(float)} >= bucket_bytes) {
      s.buckets.emplace_back();
      floats.push_back(0);
    }
    Bucket& b = s.buckets.back();
    s.place[i] = {s.buckets.size() - 1, b.params.size()};
    b.params.push_back(i);
    b.offsets.push_back(floats.back());
    floats.back() += s.params[i].second.data().numel();
  }
  for (size_t k = 0; k < s.buckets.size(); ++k)
    s.buckets[k].buffer = Tensor::empty({floats[k]});

  const std::weak_ptr<State> weak = state_;
  for (size_t i = 0; i < s.params.size(); ++i)
    s.params[i].second.set_grad_hook([weak, i] {
      if (auto state = weak.lock()) state->on_gradient(i);
    });
  optimizer.add_hook([weak](const NamedParameters&) {
    if (auto state = weak.lock()) state->before_update();
  });
}

DataParallel::~DataParallel() {
  for (const auto& [name, p] : state_->params)
    p.set_grad_hook(nullptr);
}

const dist::Communicator& DataParallel::comm() const {
  return state_->comm;
}

int64_t DataParallel::buckets_started() const {
  return static_cast<int64_t>(state_->launched);
}

std::vector<int64_t> DataParallel::bucket_sizes() const {
  std::vector<int64_t> sizes;
  for (const Bucket& b : state_->buckets)
    sizes.push_back(static_cast<int64_t>(b.params.size()));
  return sizes;
}

}  // namespace prism::optim
