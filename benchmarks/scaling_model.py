#!/usr/bin/env python3
"""The scaling model of a VGG16 training step (docs/scaling.md), from one scripts/scaling run.

    scaling_model.py RUN_DIR        # writes RUN_DIR.md and RUN_DIR.png

RUN_DIR holds what scripts/scaling measured on this machine:
  compute_<S>.json   `scaling compute --image-size=S`: each convolution shape's three passes,
                     and one serial step's profile rows;
  comm_<P>.json      `mpiexec -n P scaling comm`: the collectives at P ranks;
  step_<name>_<S>_<P>_<round>.json   vgg_step runs: the measured points;
  cores              the machine's core count.

A rank's step is its compute plus its communication, nothing overlapped (what vgg_step
measures here: the sharded exchanges run with one chunk, and on a busy core MPICH moves the
gradient buckets only inside MPI calls):
  compute = its convolutions (each pass timed alone for its shape, scaled so that the serial
            step's add up to its profile's conv2d row) + the per-channel layers between them
            (the serial profile's, times the share of channels the rank holds) + the classifier
            (replicated) + the rest (the optimizer, the graph: times its share of parameters);
  comm    = sum over its collectives of steps * alpha + beta(bytes) * bytes received, with the
            ring's steps and bytes for the group's size (alpha-beta from comm_2.json).
With more ranks than cores (the measured points above `cores`), the busiest core runs
ceil(P / cores) ranks' compute, and the collectives' alpha and beta are those measured at that
rank count here, when there is a comm_<P>.json for it: a first-order rule for time sharing,
not a model of the scheduler (docs/scaling.md says how far off it is).
"""
import bisect
import glob
import json
import math
import os
import re
import statistics
import sys

RANKS = [1, 2, 3, 4, 8, 16, 32, 64]
# VGG16's convolutions: (C, K, the image side divided by this)
LAYERS = [(3, 64, 1), (64, 64, 1), (64, 128, 2), (128, 128, 2), (128, 256, 4), (256, 256, 4),
          (256, 256, 4), (256, 512, 8), (512, 512, 8), (512, 512, 8), (512, 512, 16),
          (512, 512, 16), (512, 512, 16)]
CHANNEL_OPS = ['batch_norm_relu', 'dropout', 'max_pooling_2d']  # sharded with the channels
REST = '(outside ops)'  # the optimizer's update, zero_grad, the graph walk
LAYOUTS = [('seed_gathered', 'seed, gathered'), ('seed_sharded', 'seed, sharded'),
           ('filter', 'filter'), ('data', 'data parallel'), ('grid', 'grid')]
# The predicted columns: (layout, model_ranks (None: all P), label); a grid where M divides P
COLUMNS = [('seed_gathered', None, 'seed, gathered'), ('seed_sharded', None, 'seed, sharded'),
           ('filter', None, 'filter'), ('data', 1, 'data parallel'),
           ('grid', 2, 'grid 2 x P/2'), ('grid', 4, 'grid 4 x P/4')]


def ceil_div(a, b):
    return -(-a // b)


class Comm:
    """One comm_<P>.json: alpha per ring step and beta (ms per byte received) by size."""

    STEPS = {'allgather': 1, 'reduce_scatter': 1, 'alltoall': 1, 'allreduce': 2}  # x (P - 1)

    def __init__(self, path):
        d = json.load(open(path))
        self.ranks = d['ranks']
        points = {}
        for c in d['collectives']:
            if c['op'] != 'barrier':
                points.setdefault(c['op'], []).append((c['bytes'], c['ms']))
        self.alpha, self.beta = {}, {}
        for op, pts in points.items():
            pts.sort()
            steps = self.STEPS[op] * (self.ranks - 1)
            # alpha: the smallest message's time per ring step, with the barrier before it: in a
            # step the collective itself is where the ranks meet
            self.alpha[op] = pts[0][1] / steps
            self.beta[op] = [(self.received(op, self.ranks, b),
                              max(ms - steps * self.alpha[op], 0) /
                              self.received(op, self.ranks, b)) for b, ms in pts[1:]]

    @staticmethod
    def received(op, p, nbytes):
        """Bytes a rank receives in a ring collective of nbytes (scaling.cpp says what they are)."""
        return (2 if op == 'allreduce' else 1) * nbytes * (p - 1) / p

    def cost(self, op, p, nbytes):
        """(ms, bytes received) of one collective over p ranks."""
        if p == 1 or nbytes == 0:
            return 0.0, 0.0
        got = self.received(op, p, nbytes)
        sizes = [s for s, _ in self.beta[op]]
        i = min(max(bisect.bisect_left(sizes, got), 1), len(sizes) - 1)
        (s0, b0), (s1, b1) = self.beta[op][i - 1], self.beta[op][i]
        f = min(max((math.log(got) - math.log(s0)) / (math.log(s1) - math.log(s0)), 0), 1)
        beta = b0 + f * (b1 - b0)  # per byte, interpolated in log size, clamped at the ends
        return self.STEPS[op] * (p - 1) * self.alpha[op] + beta * got, got


class Model:
    def __init__(self, compute_path, comms, cores):
        d = json.load(open(compute_path))
        self.image, self.batch = d['image_size'], d['batch']
        self.conv = {(r['c'], r['k'], r['hw']): r for r in d['conv']}
        self.ops = d['ops']
        # The kernels alone run faster than inside a step (caches, the allocator): scaled to
        # the serial step's profile
        alone = sum(self.passes_ms(i, c, k) for i, (c, k, _) in enumerate(LAYERS))
        self.conv_scale = self.ops['conv2d'] / alone
        self.parameters = d['parameters']
        self.comms, self.cores = comms, cores

    def hw(self, layer):
        return self.image // layer[2]

    def passes_ms(self, i, c, k):
        """Layer i's passes on c inputs and k filters, timed alone (no input gradient for the
        first: its input is the data)."""
        r = self.conv[(c, k, self.hw(LAYERS[i]))]
        return r['fwd_ms'] + r['bwd_weights_ms'] + (r['bwd_data_ms'] if i > 0 else 0)

    def conv_ms(self, i, c, k):
        return self.conv_scale * self.passes_ms(i, c, k)

    def activation_bytes(self, channels, layer, batch):
        return 4 * batch * channels * self.hw(layer) ** 2

    def channel_share(self, p):  # of the per-channel layers, the busiest rank's
        total = sum(self.activation_bytes(l[1], l, 1) for l in LAYERS)
        return sum(self.activation_bytes(ceil_div(l[1], p), l, 1) for l in LAYERS) / total

    def head_parameters(self):
        f = 512 * (self.image // 32) ** 2
        return f * 512 + 512 * 2 + 512 * 10

    def rank_parameters(self, filter_ranks=1, seed_ranks=1):
        n = self.head_parameters()
        for i, (c, k, _) in enumerate(LAYERS):
            if seed_ranks > 1 and (i > 0 or seed_ranks <= c):
                kk = ceil_div(k, seed_ranks)
                n += ceil_div(c, seed_ranks) * kk * 9 + 2 * kk
            else:
                kk = ceil_div(k, filter_ranks)
                n += c * kk * 9 + 2 * kk
        return n

    def comm_for(self, p):
        """The collectives' costs at world size p: measured at p, else P = 2's."""
        return self.comms.get(p) or self.comms[2]

    def predict(self, layout, p, model_ranks=None):
        """(step ms, MB received per rank, compute ms) of one rank's step."""
        ops = self.ops
        head = sum(v for k, v in ops.items() if k not in CHANNEL_OPS + ['conv2d', REST])
        channel_ops = sum(ops.get(k, 0) for k in CHANNEL_OPS)
        n = self.batch
        final = 4 * n * 512 * (self.image // 32) ** 2  # the gather before the classifier
        calls = []  # (op, group size, bytes)
        m = p if layout in ('seed_gathered', 'seed_sharded', 'filter') else model_ranks or 1
        d = p // m
        if layout.startswith('seed'):
            conv = 0
            for i, (c, k, _) in enumerate(LAYERS):
                parallel = p <= c  # else the layer runs whole on every rank
                conv += self.conv_ms(i, ceil_div(c, p) if parallel else c,
                                     ceil_div(k, p) if parallel else k)
                out = self.activation_bytes(k, LAYERS[i], n)
                if layout == 'seed_gathered':
                    if parallel:
                        calls.append(('allgather', p, out))
                    if i > 0:
                        calls.append(('allreduce', p, self.activation_bytes(c, LAYERS[i], n)))
                elif parallel:
                    calls += [('alltoall', p, out / p)] * 2  # forward and backward
                else:
                    calls.append(('allreduce', p, out))  # shard_channels' backward
            share = 1 if layout == 'seed_gathered' else self.channel_share(p)
            if layout == 'seed_sharded':
                calls.append(('allgather', p, final))
            params = self.rank_parameters(seed_ranks=p)
        else:  # filter, data, grid: the filter partition over m ranks, data parallel over d
            conv = sum(self.conv_ms(i, c, ceil_div(k, m)) for i, (c, k, _) in enumerate(LAYERS))
            for i, (c, k, _) in enumerate(LAYERS):
                if i > 0:
                    calls += [('allgather', m, self.activation_bytes(c, LAYERS[i], n)),
                              ('reduce_scatter', m, self.activation_bytes(c, LAYERS[i], n))]
            calls.append(('allgather', m, final))
            share = self.channel_share(m)
            params = self.rank_parameters(filter_ranks=m)
            if d > 1:
                calls.append(('allreduce', d, 4 * params))
                for _, k, _ in LAYERS:  # synchronized BN: sums, squares, and backward's two sums
                    kk = ceil_div(k, m)
                    calls += [('allreduce', d, 4 * (2 * kk + 1)), ('allreduce', d, 4 * kk),
                              ('allreduce', d, 4 * 2 * kk)]
                calls += [('allreduce', d, 4 * 1025), ('allreduce', d, 4 * 512),
                          ('allreduce', d, 4 * 1024)]  # the classifier's BN
        compute = conv + channel_ops * share + head + ops[REST] * params / self.parameters
        comm = self.comm_for(p)
        ms = received = 0.0
        for op, group, nbytes in calls:
            t, got = comm.cost(op, group, nbytes)
            ms += t
            received += got
        return ceil_div(p, self.cores) * compute + ms, received / 1e6, compute

    def efficiency(self, layout, p, step_ms, model_ranks=None, serial_ms=None):
        """Images per second per rank, against one process's step (serial_ms; the model's when
        None). A model group of m ranks runs one batch: the seed's model is smaller than VGG16, so
        above 1 is possible there."""
        serial = serial_ms or self.predict('filter', 1)[0]
        m = p if layout in ('seed_gathered', 'seed_sharded', 'filter') else model_ranks
        return serial / (m * step_ms)


def measured_points(run_dir, image):
    """{(name, P): (median step ms, median MB received)} over the rounds of vgg_step runs."""
    runs = {}
    for path in glob.glob(f'{run_dir}/step_*_{image}_*_*.json'):
        m = re.match(r'step_(\w+?)_(\d+)_(\d+)_(\d+)\.json', os.path.basename(path))
        name, p = m.group(1), int(m.group(3))
        try:
            b = json.load(open(path))['benchmarks'][0]
        except (ValueError, KeyError, IndexError):
            continue
        runs.setdefault((name, p), []).append((b['real_time'], b.get('mb_received', 0)))
    return {key: (statistics.median(t for t, _ in v), statistics.median(r for _, r in v))
            for key, v in runs.items()}


def point_layout(name, p):
    """A measured run's (layout, model_ranks): vgg_step's grid runs are 2 x P/2."""
    return {'grid': ('grid', p // 2), 'data': ('data', 1)}.get(name, (name, None))


def alpha_beta_table(c2):
    lines = ['alpha (per ring step) and beta (per MB received) at 2 ranks:', '',
             '| collective | alpha us | beta ms/MB at 1 MB | at 16 MB |', '|---|---|---|---|']
    for op, steps in Comm.STEPS.items():
        betas = []
        for mb in (1, 16):  # bytes received at 2 ranks: half the tensor, all of it for allreduce
            ms, got = c2.cost(op, 2, mb * 2 ** 20 * (1 if op == 'allreduce' else 2))
            betas.append((ms - steps * c2.alpha[op]) / (got / 1e6))
        lines.append(f'| {op} | {c2.alpha[op] * 1e3:.1f} | {betas[0]:.3f} | {betas[1]:.3f} |')
    return lines


def measured_table(model, measured, cores):
    """The measured points beside the model's predictions for this machine."""
    lines = [f'Measured points against the model on this machine ({cores} cores: above {cores} '
             'ranks, the ranks share them):', '',
             '| layout | P | measured ms | predicted ms | error | measured MB | predicted MB | |',
             '|---|---|---|---|---|---|---|---|']
    order = [name for name, _ in LAYOUTS]
    errors = []  # of the points with a core per rank
    for (name, p), (ms, mb) in sorted(measured.items(),
                                      key=lambda kv: (order.index(kv[0][0]), kv[0][1])):
        if p == 1:
            continue
        layout, m = point_layout(name, p)
        pred, pred_mb, _ = model.predict(layout, p, m)
        error = 100 * (pred - ms) / ms
        grid = f' {m} x {p // m}' if layout == 'grid' else ''
        lines.append(f'| {dict(LAYOUTS)[layout]}{grid} | {p} | {ms:.0f} | {pred:.0f} | '
                     f'{error:+.0f}% | {mb:.1f} | {pred_mb:.1f} | '
                     f'{"ranks share cores" if p > cores else ""} |')
        if p <= cores:
            errors.append(error)
    if errors:
        lines += ['', f'With a core per rank, the model is off by {min(errors):+.0f}% to '
                  f'{max(errors):+.0f}% ({len(errors)} points).']
    return lines


def predicted_table(wide):
    """The predictions for P = 1..64 (a core per rank), and the efficiency curves."""
    lines = ['Predicted with a core for every rank (alpha and beta of 2 ranks here): step ms / '
             'MB received per rank / efficiency (images per second per rank against one '
             'process):', '',
             '| P | ' + ' | '.join(label for _, _, label in COLUMNS) + ' |',
             '|---' * (len(COLUMNS) + 1) + '|']
    curves = {label: [] for _, _, label in COLUMNS}  # (P, efficiency)
    for p in RANKS:
        cells = []
        for name, m, label in COLUMNS:
            if name == 'grid' and (p % m != 0 or p == m):
                cells.append('-')
                continue
            ms, mb, _ = wide.predict(name, p, m)
            eff = wide.efficiency(name, p, ms, m)
            curves[label].append((p, eff))
            cells.append(f'{ms:.0f} / {mb:.1f} / {eff:.2f}')
        lines.append(f'| {p} | ' + ' | '.join(cells) + ' |')
    return lines, curves


def main(run_dir):
    cores = int(open(f'{run_dir}/cores').read())
    comms = {}
    for path in glob.glob(f'{run_dir}/comm_*.json'):
        c = Comm(path)
        comms[c.ranks] = c
    computes = sorted(glob.glob(f'{run_dir}/compute_*.json'),
                      key=lambda path: int(re.findall(r'\d+', path)[-1]))
    if 2 not in comms or not computes:
        sys.exit(f'scaling_model.py: {run_dir} needs comm_2.json and a compute_<S>.json '
                 '(scripts/scaling writes them)')
    lines = [f'# Scaling model, {os.path.basename(run_dir.rstrip("/"))}', '']
    lines += [f'- {line}' for line in open(f'{run_dir}/machine').read().splitlines()]
    lines += [''] + alpha_beta_table(comms[2])
    plots = []
    for path in computes:
        model = Model(path, comms, cores)
        s = model.image
        measured = measured_points(run_dir, s)
        serial = measured.get(('filter', 1), (None,))[0]
        lines += ['', f'## {s}x{s} images, batch {model.batch} per model group', '',
                  f'One process, 1 thread: the model adds up to '
                  f'{model.predict("filter", 1)[0]:.0f} ms'
                  + (f'; vgg_step measured {serial:.0f} ms.' if serial else '.'), '']
        lines += measured_table(model, measured, cores)
        wide = Model(path, {2: comms[2]}, cores=10 ** 6)  # a core per rank
        table, curves = predicted_table(wide)
        lines += [''] + table
        points = {}  # efficiencies against the measured one-process step
        for (name, p), (ms, _) in measured.items():
            if serial and p > 1:
                layout, m = point_layout(name, p)
                points.setdefault(name, []).append((p, wide.efficiency(layout, p, ms, m, serial)))
        plots.append((s, model.batch, curves, points))
    report = '\n'.join(lines) + '\n'
    open(f'{run_dir.rstrip("/")}.md', 'w').write(report)
    print(report)
    plot(run_dir, plots, cores)


def plot(run_dir, plots, cores):
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        print('(no matplotlib: no plot)')
        return
    fig, axes = plt.subplots(1, len(plots), figsize=(5.5 * len(plots), 4.2), squeeze=False)
    colors = plt.rcParams['axes.prop_cycle'].by_key()['color']
    color = {label: colors[i] for i, (_, _, label) in enumerate(COLUMNS)}
    for ax, (s, batch, curves, points) in zip(axes[0], plots):
        for _, _, label in COLUMNS:
            ax.plot([p for p, _ in curves[label]], [e for _, e in curves[label]], '-',
                    color=color[label], label=f'{label} (model)')
        for name, pts in sorted(points.items()):
            pts.sort()
            label = 'grid 2 x P/2' if name == 'grid' else dict(LAYOUTS)[name]
            own = [(p, e) for p, e in pts if p <= cores]  # a core per rank: on the curves' terms
            shared = [(p, e) for p, e in pts if p > cores]
            ax.plot([p for p, _ in own], [e for _, e in own], 'o', color=color[label],
                    label=f'{label} (measured)')
            ax.plot([p for p, _ in shared], [e for _, e in shared], 'o', mfc='none',
                    color=color[label])
        ax.axvline(cores, color='grey', lw=0.5, ls=':')
        ax.set_xscale('log', base=2)
        ax.set_yscale('log', base=2)
        ax.set_xticks(RANKS, [str(p) for p in RANKS])
        ax.set_xlabel('ranks P (1 thread each)')
        ax.set_ylabel('images/s per rank / one process\'s')
        ax.set_title(f'VGG16, {s}x{s}, batch {batch} per model group', fontsize=9)
        ax.legend(fontsize=6)
    day = os.path.basename(run_dir.rstrip('/'))
    fig.suptitle(f'prism scaling model, {day}: curves with a core '
                 f'per rank; points measured on {cores} cores (hollow: ranks sharing cores)',
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(f'{run_dir.rstrip("/")}.png', dpi=110)


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
