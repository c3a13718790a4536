#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <thread>

#include "data/iterator.hpp"
#include "data/prefetch_iterator.hpp"

using namespace prism;
using namespace prism::data;

namespace {

// n examples; example i is x = [i, -i] with label i, so a batch tells which examples it holds.
std::shared_ptr<TensorDataset> numbered(int64_t n) {
  Tensor x({n, 2});
  Labels labels(n);
  for (int64_t i = 0; i < n; ++i) {
    x[2 * i] = static_cast<float>(i);
    x[2 * i + 1] = -static_cast<float>(i);
    labels[i] = static_cast<int32_t>(i);
  }
  return std::make_shared<TensorDataset>(x, labels);
}

// The example ids of a batch, after checking that its inputs belong to its labels.
std::vector<int32_t> ids(const Batch& b) {
  REQUIRE(b.x.shape() == Shape{b.size(), 2});
  for (int64_t k = 0; k < b.size(); ++k) {
    CHECK(b.x[2 * k] == static_cast<float>(b.labels[k]));
    CHECK(b.x[2 * k + 1] == -static_cast<float>(b.labels[k]));
  }
  return b.labels;
}

std::vector<int32_t> next_ids(Iterator& it) {
  std::optional<Batch> b = it.next();
  REQUIRE(b.has_value());
  return ids(*b);
}

// The ids of `batches` batches, concatenated.
std::vector<int32_t> stream(Iterator& it, int batches) {
  std::vector<int32_t> all;
  for (int i = 0; i < batches; ++i) {
    std::vector<int32_t> b = next_ids(it);
    all.insert(all.end(), b.begin(), b.end());
  }
  return all;
}

bool is_permutation_of_range(std::vector<int32_t> v) {
  std::sort(v.begin(), v.end());
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i] != static_cast<int32_t>(i)) return false;
  return true;
}

}  // namespace

TEST_CASE("SerialIterator: repeat wraps a batch across the epoch end (N=10, batch 3)") {
  SerialIterator it(numbered(10), 3, /*repeat=*/true, /*shuffle=*/false);
  CHECK(it.epoch() == 0);
  CHECK(!it.is_new_epoch());
  CHECK(it.epoch_detail() == 0.0);
  CHECK(it.previous_epoch_detail() == -1.0);
  struct Step {
    std::vector<int32_t> ids;
    int64_t epoch;
    bool new_epoch;
    double detail;
  };
  const std::vector<Step> steps = {
      {{0, 1, 2}, 0, false, 0.3}, {{3, 4, 5}, 0, false, 0.6}, {{6, 7, 8}, 0, false, 0.9},
      {{9, 0, 1}, 1, true, 1.2},  {{2, 3, 4}, 1, false, 1.5}, {{5, 6, 7}, 1, false, 1.8},
      {{8, 9, 0}, 2, true, 2.1},  {{1, 2, 3}, 2, false, 2.4},
  };
  double previous = 0.0;
  for (size_t k = 0; k < steps.size(); ++k) {
    CAPTURE(k);
    CHECK(next_ids(it) == steps[k].ids);
    CHECK(it.epoch() == steps[k].epoch);
    CHECK(it.is_new_epoch() == steps[k].new_epoch);
    CHECK(it.epoch_detail() == doctest::Approx(steps[k].detail));
    CHECK(it.previous_epoch_detail() == doctest::Approx(previous));
    CHECK(it.iteration() == static_cast<int64_t>(k) + 1);
    previous = steps[k].detail;
  }
}

TEST_CASE("SerialIterator: an epoch ending exactly on a batch counts on that batch") {
  SerialIterator it(numbered(6), 3, true, false);
  CHECK(next_ids(it) == std::vector<int32_t>{0, 1, 2});
  CHECK(!it.is_new_epoch());
  CHECK(next_ids(it) == std::vector<int32_t>{3, 4, 5});
  CHECK(it.is_new_epoch());
  CHECK(it.epoch() == 1);
  CHECK(it.epoch_detail() == 1.0);
  CHECK(next_ids(it) == std::vector<int32_t>{0, 1, 2});
  CHECK(!it.is_new_epoch());
}

TEST_CASE("SerialIterator: without repeat the last batch is short, then nullopt") {
  SerialIterator it(numbered(10), 3, /*repeat=*/false, /*shuffle=*/false);
  CHECK(next_ids(it) == std::vector<int32_t>{0, 1, 2});
  CHECK(next_ids(it) == std::vector<int32_t>{3, 4, 5});
  CHECK(next_ids(it) == std::vector<int32_t>{6, 7, 8});
  CHECK(it.epoch() == 0);
  CHECK(!it.is_new_epoch());
  CHECK(next_ids(it) == std::vector<int32_t>{9});
  CHECK(it.epoch() == 1);
  CHECK(it.is_new_epoch());
  CHECK(it.epoch_detail() == 1.0);
  CHECK(it.iteration() == 4);
  for (int k = 0; k < 2; ++k) {
    CHECK(!it.next().has_value());
    CHECK(it.epoch() == 1);
    CHECK(it.is_new_epoch());
    CHECK(it.iteration() == 4);
  }
  CHECK(it.previous_epoch_detail() == 1.0);

  it.reset();
  CHECK(it.epoch() == 0);
  CHECK(!it.is_new_epoch());
  CHECK(it.iteration() == 0);
  CHECK(it.previous_epoch_detail() == -1.0);
  CHECK(next_ids(it) == std::vector<int32_t>{0, 1, 2});

  // A pass that ends exactly on a batch has no short batch.
  SerialIterator exact(numbered(9), 3, false, false);
  CHECK(stream(exact, 3) == std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(exact.is_new_epoch());
  CHECK(!exact.next().has_value());
}

TEST_CASE("SerialIterator: shuffling visits every example exactly once per epoch") {
  SerialIterator it(numbered(10), 3, true, true, 42);
  // 40 batches of 3 are 12 whole epochs; the wrapped batches join consecutive epochs.
  std::vector<int32_t> all;
  for (int k = 1; k <= 40; ++k) {
    const int64_t epoch_before = it.epoch();
    std::vector<int32_t> b = next_ids(it);
    all.insert(all.end(), b.begin(), b.end());
    CHECK(it.epoch() == 3 * k / 10);
    CHECK(it.is_new_epoch() == (it.epoch() != epoch_before));
    CHECK(it.epoch_detail() == doctest::Approx(0.3 * k));
  }
  std::vector<std::vector<int32_t>> epochs;
  for (size_t start = 0; start < all.size(); start += 10) {
    epochs.emplace_back(all.begin() + start, all.begin() + start + 10);
    CHECK(is_permutation_of_range(epochs.back()));
  }
  // Each epoch is freshly shuffled: not the identity, and not all the same.
  std::vector<int32_t> identity(10);
  std::iota(identity.begin(), identity.end(), 0);
  CHECK(std::count(epochs.begin(), epochs.end(), identity) <= 1);
  CHECK(std::count(epochs.begin(), epochs.end(), epochs[0]) < static_cast<long>(epochs.size()));

  // Without repeat: one shuffled pass, the last batch short.
  SerialIterator once(numbered(10), 4, false, true, 7);
  std::vector<int32_t> pass = stream(once, 2);
  std::optional<Batch> last = once.next();
  REQUIRE(last.has_value());
  CHECK(last->size() == 2);
  pass.insert(pass.end(), last->labels.begin(), last->labels.end());
  CHECK(is_permutation_of_range(pass));
  CHECK(pass != identity);
  CHECK(!once.next().has_value());
}

TEST_CASE("SerialIterator: the seed fixes the order; no shuffle keeps dataset order") {
  auto data = numbered(17);
  SerialIterator a(data, 5, true, true, 123), b(data, 5, true, true, 123),
      c(data, 5, true, true, 124);
  const std::vector<int32_t> sa = stream(a, 20), sb = stream(b, 20), sc = stream(c, 20);
  CHECK(sa == sb);
  CHECK(sa != sc);
  CHECK(a.order() == b.order());

  SerialIterator plain(data, 5, true, false, 123);
  const std::vector<int32_t> sp = stream(plain, 20);
  for (size_t k = 0; k < sp.size(); ++k)
    CHECK(sp[k] == static_cast<int32_t>(k % 17));

  // reset() goes back to epoch 0 with a fresh order from the continuing generator (Chainer).
  a.reset();
  CHECK(a.epoch() == 0);
  CHECK(a.epoch_detail() == 0.0);
  std::vector<int32_t> first(a.order().begin(), a.order().begin() + 5);
  CHECK(next_ids(a) == first);
}

TEST_CASE("SerialIterator: a batch larger than the dataset spans several epochs") {
  SerialIterator it(numbered(4), 10, true, true, 3);
  std::vector<int32_t> b = next_ids(it);
  REQUIRE(b.size() == 10);
  CHECK(it.epoch() == 2);
  CHECK(it.is_new_epoch());
  CHECK(it.epoch_detail() == 2.5);
  CHECK(is_permutation_of_range({b.begin(), b.begin() + 4}));
  CHECK(is_permutation_of_range({b.begin() + 4, b.begin() + 8}));

  SerialIterator once(numbered(4), 10, false, false);
  CHECK(next_ids(once) == std::vector<int32_t>{0, 1, 2, 3});
  CHECK(!once.next().has_value());
}

namespace {
// Example 1 has a different shape from the others.
class Ragged : public Dataset {
 public:
  int64_t size() const override { return 3; }

 protected:
  Example get_example(int64_t i) const override { return {Tensor({i == 1 ? 3 : 2}), 0}; }
};
}  // namespace

TEST_CASE("data: datasets, batches and iterators reject bad input") {
  auto data = numbered(5);
  CHECK(data->get(4).label == 4);
  CHECK(data->get(4).x.to_vector() == std::vector<float>{4, -4});
  CHECK_THROWS_WITH_AS(data->get(5), doctest::Contains("index 5 out of range for 5 examples"),
                       Error);
  CHECK_THROWS_WITH_AS(data->get(-1), doctest::Contains("index -1 out of range"), Error);
  // get() returns a copy: writing to it leaves the dataset alone.
  data->get(2).x.fill(99);
  CHECK(data->get(2).x[0] == 2.0f);

  CHECK_THROWS_WITH_AS(TensorDataset(Tensor({4, 2}), Labels(3)),
                       doctest::Contains("4 images (shape [4, 2]) but 3 labels"), Error);
  CHECK_THROWS_WITH_AS(TensorDataset(Tensor(), Labels{}), doctest::Contains("undefined"), Error);
  CHECK_THROWS_WITH_AS(TensorDataset(Tensor::scalar(1), Labels{1}), doctest::Contains("[N, ...]"),
                       Error);

  Ragged ragged;
  CHECK(make_batch(ragged, {0, 2}).x.shape() == Shape{2, 2});
  CHECK_THROWS_WITH_AS(make_batch(ragged, {0, 1}),
                       doctest::Contains("example 1 has shape [3] but example 0 has shape [2]"),
                       Error);
  CHECK_THROWS_WITH_AS(make_batch(*data, {0, 7}), doctest::Contains("index 7 out of range"), Error);
  CHECK_THROWS_AS(make_batch(*data, {}), Error);
  SerialIterator it(std::make_shared<Ragged>(), 3, true, false);
  CHECK_THROWS_WITH_AS(it.next(), doctest::Contains("make_batch: example 1 has shape [3]"), Error);

  CHECK_THROWS_WITH_AS(SerialIterator(nullptr, 2), doctest::Contains("dataset is null"), Error);
  CHECK_THROWS_WITH_AS(SerialIterator(data, 0),
                       doctest::Contains("batch_size must be at least 1, got 0"), Error);
  CHECK_THROWS_WITH_AS(SerialIterator(data, -3), doctest::Contains("got -3"), Error);
  CHECK_THROWS_WITH_AS(SerialIterator(numbered(0), 2, false), doctest::Contains("dataset is empty"),
                       Error);
}

TEST_CASE("SerialIterator: set_state continues with exactly the batches it would have given") {
  for (bool repeat : {true, false})
    for (int stop : {0, 1, 3, 4}) {  // 10 examples, batch 3: 4 is past the first epoch's end
      CAPTURE(repeat);
      CAPTURE(stop);
      const int more = repeat ? 9 : 3 - std::min(stop, 3);
      SerialIterator whole(numbered(10), 3, repeat, true, 11);
      SerialIterator first(numbered(10), 3, repeat, true, 11);
      if (!repeat && stop > 3) continue;  // a one-pass iterator has 4 batches
      stream(whole, stop);
      stream(first, stop);
      // A different seed and position: set_state must overwrite all of it.
      SerialIterator resumed(numbered(10), 3, repeat, true, 99);
      stream(resumed, 2);
      resumed.set_state(first.state());
      CHECK(resumed.epoch() == whole.epoch());
      CHECK(resumed.iteration() == whole.iteration());
      CHECK(resumed.is_new_epoch() == whole.is_new_epoch());
      CHECK(resumed.epoch_detail() == whole.epoch_detail());
      CHECK(resumed.previous_epoch_detail() == whole.previous_epoch_detail());
      CHECK(stream(resumed, more) == stream(whole, more));
      CHECK(resumed.state() == whole.state());
    }
}

TEST_CASE("SerialIterator: set_state refuses a state for another iterator and changes nothing") {
  SerialIterator it(numbered(10), 3, true, true, 5);
  stream(it, 2);
  const std::vector<int64_t> before = it.state();
  auto refused = [&](const std::vector<int64_t>& state, const char* why) {
    CHECK_THROWS_WITH_AS(it.set_state(state), doctest::Contains(why), Error);
    CHECK(it.state() == before);
  };
  refused({}, "not a SerialIterator state");
  refused(SerialIterator(numbered(11), 3, true, true, 5).state(), "dataset of 11 examples");
  refused(SerialIterator(numbered(10), 4, true, true, 5).state(), "batch size 4");
  refused(SerialIterator(numbered(10), 3, false, true, 5).state(), "repeat 0");
  std::vector<int64_t> bad = before;
  bad.back() = bad[bad.size() - 2];  // the order repeats an example
  refused(bad, "not a permutation");
  bad = before;
  bad[5] = 10;  // the position, past the end
  refused(bad, "out of range");
  bad = before;
  bad.pop_back();  // one entry short: not another dataset's state, a corrupt one
  refused(bad, "the state's example order holds 9 entries, not the dataset's 10");
}

TEST_CASE("datasets: SubDataset and splits, in order and at random") {
  auto all = numbered(10);
  const Split in_order = split_dataset(all, 3);
  CHECK(in_order.first->indices() == std::vector<int64_t>{0, 1, 2});
  CHECK(in_order.second->size() == 7);
  CHECK(in_order.second->get(0).label == 3);

  const Split a = split_dataset_random(all, 4, 9), b = split_dataset_random(all, 4, 9);
  CHECK(a.first->indices() == b.first->indices());  // one seed, one split
  std::vector<int64_t> both = a.first->indices();
  both.insert(both.end(), a.second->indices().begin(), a.second->indices().end());
  std::vector<int32_t> ids(both.begin(), both.end());
  CHECK(is_permutation_of_range(ids));
  CHECK(both != std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(split_dataset_random(all, 4, 10).first->indices() != a.first->indices());
  // A split of a split, and repeated indices.
  SubDataset twice(a.second, {0, 0, 5});
  CHECK(twice.get(1).label == a.second->get(0).label);
  CHECK(split_dataset(all, 0).first->size() == 0);
  CHECK(split_dataset(all, 10).second->size() == 0);

  CHECK_THROWS_WITH_AS(split_dataset(all, 11), doctest::Contains("outside [0, 10]"), Error);
  CHECK_THROWS_WITH_AS(SubDataset(all, {3, 10}), doctest::Contains("index 10 (position 1)"), Error);
  CHECK_THROWS_WITH_AS(twice.get(3), doctest::Contains("out of range"), Error);
}

namespace {

// Example i is numbered(n)'s, except that reading example `bad` throws.
class Faulty : public Dataset {
 public:
  Faulty(int64_t n, int64_t bad) : base_(numbered(n)), bad_(bad) {}
  int64_t size() const override { return base_->size(); }

 protected:
  Example get_example(int64_t i) const override {
    PRISM_CHECK(i != bad_, "Faulty: example " << i << " is unreadable");
    return base_->get(i);
  }

 private:
  std::shared_ptr<TensorDataset> base_;
  int64_t bad_;
};

}  // namespace

TEST_CASE("PrefetchIterator: the inner iterator's batches and bookkeeping, in order") {
  for (bool repeat : {true, false})
    for (int64_t depth : {1, 3}) {
      CAPTURE(repeat);
      CAPTURE(depth);
      SerialIterator serial(numbered(10), 3, repeat, true, 4);
      PrefetchIterator ahead(std::make_unique<SerialIterator>(numbered(10), 3, repeat, true, 4),
                             depth);
      for (int step = 0; step < (repeat ? 12 : 6); ++step) {
        const std::optional<Batch> a = serial.next(), b = ahead.next();
        REQUIRE(a.has_value() == b.has_value());
        if (a) CHECK(ids(*a) == ids(*b));
        CHECK(ahead.epoch() == serial.epoch());
        CHECK(ahead.iteration() == serial.iteration());
        CHECK(ahead.is_new_epoch() == serial.is_new_epoch());
        CHECK(ahead.epoch_detail() == serial.epoch_detail());
        CHECK(ahead.state() == serial.state());  // the caller's position, not the thread's
      }
    }
}

TEST_CASE("PrefetchIterator: loader errors surface in the caller; reset and set_state work") {
  PrefetchIterator it(
      std::make_unique<SerialIterator>(std::make_shared<Faulty>(10, 7), 2, true, false), 3);
  CHECK(stream(it, 3) == std::vector<int32_t>{0, 1, 2, 3, 4, 5});
  CHECK_THROWS_WITH_AS(it.next(), doctest::Contains("example 7 is unreadable"), Error);
  CHECK_THROWS_WITH_AS(it.next(), doctest::Contains("example 7 is unreadable"), Error);
  CHECK(it.iteration() == 3);
  it.reset();
  CHECK(next_ids(it) == std::vector<int32_t>{0, 1});

  // Resume from a state taken while batches were prepared ahead.
  PrefetchIterator a(std::make_unique<SerialIterator>(numbered(10), 3, true, true, 8), 2);
  stream(a, 2);
  const std::vector<int64_t> saved = a.state();
  const std::vector<int32_t> expected = stream(a, 5);
  PrefetchIterator b(std::make_unique<SerialIterator>(numbered(10), 3, true, true, 1), 2);
  stream(b, 1);
  b.set_state(saved);
  CHECK(stream(b, 5) == expected);
  const std::vector<int64_t> before = b.state();
  CHECK_THROWS_WITH_AS(b.set_state({1, 2}), doctest::Contains("not a SerialIterator state"), Error);
  CHECK(b.state() == before);
  CHECK(stream(b, 2) == stream(a, 2));  // still in step after the refusal
  CHECK_THROWS_WITH_AS(PrefetchIterator(nullptr), doctest::Contains("null"), Error);

  // reset() after the thread ran into the next epoch (4 examples, batch 3: its second batch
  // crosses the end and draws a new order) gives what the bare iterator's reset() gives.
  SerialIterator bare(numbered(4), 3, true, true, 7);
  PrefetchIterator ahead(std::make_unique<SerialIterator>(numbered(4), 3, true, true, 7), 3);
  CHECK(next_ids(bare) == next_ids(ahead));
  // Let the thread run ahead (the result must not depend on whether it did).
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  bare.reset();
  ahead.reset();
  CHECK(stream(ahead, 3) == stream(bare, 3));
}
