#!/usr/bin/env python3
"""Turns one scripts/bench run (its folder of raw outputs) into result/bench/<date>.md and .png.

  bench_report.py result/bench/2026-12-01 ROUNDS ISA
"""
import glob
import json
import os
import platform
import re
import statistics
import subprocess
import sys

out_dir, rounds, isa = sys.argv[1], int(sys.argv[2]), sys.argv[3]
day = os.path.basename(out_dir.rstrip('/'))
CONFIGS = [('1t', '1 thread'), ('2t', '2 threads'), ('p2', '2 ranks x 1 thread, sharded'),
           ('p2g', '2 ranks x 1 thread, gathered'),
           ('p2s', '2 ranks x 1 thread, sharded, --split-waits'), ('p3', '3 ranks x 1 thread, sharded'),
           ('p3g', '3 ranks x 1 thread, gathered'), ('p4', '4 ranks x 1 thread, sharded'),
           ('p4g', '4 ranks x 1 thread, gathered'), ('p2f', '2 ranks x 1 thread, filter partition'),
           ('p3f', '3 ranks x 1 thread, filter partition'),
           ('p4f', '4 ranks x 1 thread, filter partition'),
           ('p2d', '2 ranks x 1 thread, data parallel (64 images each)'),
           ('p4x', '4 ranks x 1 thread, 2 x 2 grid, filter partition (64 images a group)')]
# resnet_step, ResNet-20 at batch 64, beside torch_reference.py --model resnet20
RESNET_CONFIGS = [('r1t', '1 thread'), ('r2t', '2 threads')]
# PyTorch has one 2-process run: one reference for all
TORCH_OF = {'p2g': 'p2', 'p2s': 'p2', 'p2f': 'p2'}
PASSES = ['fwd', 'bwd_data', 'bwd_weights']


def cpu_model():
    for line in open('/proc/cpuinfo'):
        if line.startswith('model name'):
            return line.split(':', 1)[1].strip()
    return platform.processor() or 'unknown CPU'


def load_json(path):
    try:
        return json.load(open(path))
    except (OSError, ValueError):
        return None


def prism_runs(config, who='prism'):
    """The step's figures of each round: real time (ms) and the counters."""
    runs = []
    for path in sorted(glob.glob(f'{out_dir}/{who}_{config}_*.json')):
        doc = load_json(path)
        if doc and doc.get('benchmarks'):
            runs.append((doc['context'], doc['benchmarks'][0]))
    return runs


def torch_ms(config):
    values = []
    for path in sorted(glob.glob(f'{out_dir}/torch_{config}_*.txt')):
        m = re.search(r'median_ms ([0-9.]+) .* torch (\S+)', open(path).read())
        if m:
            values.append((float(m.group(1)), m.group(2)))
    return values


def step_ms(b):
    """A prism run's step time: the median of its steps (the median_ms counter), the statistic
    torch_reference.py reports; Google Benchmark's real_time, the mean, in runs made before
    the counter."""
    return b.get('median_ms', b['real_time'])


def median(xs):
    return statistics.median(xs) if xs else None


def fmt(x, digits=0):
    return '-' if x is None else f'{x:.{digits}f}'


lines = []
step = {}
peak = None
torch_version = None
for config, label in CONFIGS + RESNET_CONFIGS:
    runs = prism_runs(config)
    if runs and peak is None:
        peak = float(runs[0][0].get('fma_peak_gflops', 0)) or None
    t = torch_ms(TORCH_OF.get(config, config))
    if t:
        torch_version = t[0][1]
    step[config] = {
        'prism': median([step_ms(b) for _, b in runs]),
        'torch': median([v for v, _ in t]),
        'before': median([step_ms(b) for _, b in prism_runs(config, 'baseline')]),
        'before_rounds': [step_ms(b) for _, b in prism_runs(config, 'baseline')],
        'prism_rounds': [step_ms(b) for _, b in runs],
        'torch_rounds': [v for v, _ in t],
        'pct_peak': median([b.get('pct_peak', 0) for _, b in runs]),
        'faults': median([b.get('faults_per_step', 0) for _, b in runs]),
        'rss': median([b.get('peak_rss_mb', 0) for _, b in runs]),
        'gflop': median([b.get('conv_gflop', 0) for _, b in runs]),
        'mb_received': median([b['mb_received'] for _, b in runs if 'mb_received' in b]),
        'comm_ms': median([b['comm_ms'] for _, b in runs if 'comm_ms' in b]),
        'comm_pct': median([b['comm_pct'] for _, b in runs if 'comm_pct' in b]),
        'imbalance_pct': median([b['imbalance_pct'] for _, b in runs if 'imbalance_pct' in b]),
        'allreduce_ms': median([b['allreduce_ms'] for _, b in runs if 'allreduce_ms' in b]),
    }

conv = load_json(f'{out_dir}/conv_bench.json') or {'benchmarks': [], 'context': {}}
conv_peak = conv['context'].get(f'fma_peak_{isa}_gflops')


def conv_times(pattern):
    """(pass, impl, shape, threads) -> ms of the conv_bench runs whose name matches pattern."""
    found = {}
    for b in conv['benchmarks']:
        m = re.match(pattern, b['name'])
        if m and b.get('run_type', 'iteration') == 'iteration':
            found[(m.group(1), m.group(2), m.group(3), int(m.group(4)))] = b['real_time']
    return found


def conv_shapes(found):
    return list(dict.fromkeys(k[2] for k in found))  # in conv_bench's order


def conv_impls(found):
    return [i for i in (isa, 'onednn', 'onednn_nchw') if any(k[1] == i for k in found)]


def conv_threads(found):
    return sorted({k[3] for k in found})


# The VGG16 set's names have no kernel part (C64_K64_HW32_N64); the other set's always have one
# (C40_K72_HW17_k3s1p1_N64), so neither pattern takes the other's runs.
times = conv_times(r'conv/(\w+)/(\w+)/(C\d+_K\d+_HW\d+)_N\d+/threads_(\d+)')
other_times = conv_times(r'conv/(\w+)/(\w+)/(C\d+_K\d+_\w+?_k[\dx]+s\d+p\d+_N\d+)/threads_(\d+)')
shapes = conv_shapes(times)
impls = conv_impls(times)
threads = conv_threads(times)

lines.append(f'# prism benchmark, {day}')
lines.append('')
lines.append(f'- CPU: {cpu_model()}, {os.cpu_count()} cores; prism kernels: {isa}')
lines.append(f'- FMA peak of one core, measured in this run: {fmt(peak, 1)} GFLOP/s (vgg_step), '
             f'{fmt(float(conv_peak), 1) if conv_peak else "-"} GFLOP/s (conv_bench)')
lines.append(f'- {rounds} interleaved rounds, medians; batch 64; PyTorch {torch_version or "not installed"}; '
             'a step time is the median of that run\'s steps, prism\'s as PyTorch\'s')
lines.append('')
lines.append('## VGG16 training step (ms)')
lines.append('')
baseline_rev = None
if os.path.exists(f'{out_dir}/baseline_rev.txt'):
    baseline_rev = open(f'{out_dir}/baseline_rev.txt').read().split()[0]


def ratio(a, b):
    return a / b if a and b else None




def round_ratio(a_rounds, b_rounds):
    """The median over rounds of each round's ratio: robust where the machine's speed drifts
    between rounds (each round's two runs sit side by side)."""
    return median([a / b for a, b in zip(a_rounds, b_rounds) if a and b])


if baseline_rev:
    lines.append(f'| | prism before ({baseline_rev}) | prism `vgg_step` | PyTorch `torch_reference.py` '
                 '| before / PyTorch | prism / PyTorch | per round |')
    lines.append('|---|---|---|---|---|---|---|')
else:
    lines.append('| | prism `vgg_step` | PyTorch `torch_reference.py` | prism / PyTorch | per round |')
    lines.append('|---|---|---|---|---|')


def ratio_row(config, label, with_before):
    s = step[config]
    now = f'{fmt(s["prism"])} | {fmt(s["torch"])}'
    per_round = fmt(round_ratio(s['prism_rounds'], s['torch_rounds']), 2)
    before = f'{fmt(s["before"])} | ' if with_before else ''
    before_ratio = f'{fmt(ratio(s["before"], s["torch"]), 2)} | ' if with_before else ''
    return (f'| {label} | {before}{now} | {before_ratio}**{fmt(ratio(s["prism"], s["torch"]), 2)}** '
            f'| {per_round} |')


for config, label in CONFIGS:
    lines.append(ratio_row(config, label, bool(baseline_rev)))
lines.append('')
lines.append('prism / PyTorch is the ratio of the medians; "per round" is the median of each round\'s '
             'own ratio (its two runs ran side by side, so a drift of the machine between rounds '
             'cancels).')
if step['p2f']['prism'] and step['1t']['prism']:
    lines.append('')
    lines.append('The filter partition computes the serial VGG16 (the other rows at 2+ ranks compute the '
                 'seed\'s grouped model): at 2 ranks x 1 thread its step is '
                 f'{fmt(ratio(step["p2f"]["prism"], step["1t"]["prism"]), 2)} of the 1-thread step '
                 f'(per round {fmt(round_ratio(step["p2f"]["prism_rounds"], step["1t"]["prism_rounds"]), 2)}).')
if step['p2d']['prism'] and step['1t']['prism']:
    lines.append('')
    lines.append('Data parallel at 2 ranks x 1 thread (a batch of 64 images on each, 128 in all, gradients '
                 'averaged by optim::DataParallel, BN synchronized): its step is '
                 f'{fmt(ratio(step["p2d"]["prism"], step["1t"]["prism"]), 2)} of the 1-thread step of 64 '
                 f'images (per round {fmt(round_ratio(step["p2d"]["prism_rounds"], step["1t"]["prism_rounds"]), 2)}); '
                 f'{fmt(step["p2d"]["comm_ms"])} ms of its step were spent in collectives, against '
                 f'{fmt(step["p2d"]["allreduce_ms"], 1)} ms for one blocking allreduce of all the gradients. '
                 'Its PyTorch reference is DistributedDataParallel over gloo, whose BN normalizes each '
                 'process\'s own batch (PyTorch\'s SyncBatchNorm needs GPUs).')
lines.append('')
oversubscribed = list(dict.fromkeys(
    label.split(' x ')[0] for config, label in CONFIGS
    if config.startswith('p') and int(config[1]) > (os.cpu_count() or 1) and step[config]['prism']))
if oversubscribed:
    lines.append(f'{", ".join(oversubscribed)}: more ranks than this machine\'s {os.cpu_count()} cores, so '
                 'their times say nothing about speed; they are here for memory and traffic.')
    lines.append('')
if baseline_rev:
    lines.append(f'Before: {open(f"{out_dir}/baseline_rev.txt").read().strip()}')
    lines.append('')
lines.append('prism per step (medians): nominal convolution GFLOP, their share of the FMA peak of '
             'the threads used, minor page faults, peak RSS of the process, and under MPI the '
             'tensor MB received from other ranks (rank 0) and the time spent in collectives, the '
             'exposed communication (the mean over ranks). With `--split-waits` a barrier before '
             'each channel exchange takes out the wait for a slower rank (imbalance %): comm % is '
             'then the exchanges\' copies and transfer, plus the few other collectives with their waits.')
lines.append('')
lines.append('| | conv GFLOP | % of peak | page faults | peak RSS MB | MB received | comm ms | comm % '
             '| imbalance % |')
lines.append('|---|---|---|---|---|---|---|---|---|')
for config, label in CONFIGS:
    s = step[config]
    lines.append(f'| {label} | {fmt(s["gflop"], 1)} | {fmt(s["pct_peak"], 1)} | {fmt(s["faults"])} | '
                 f'{fmt(s["rss"])} | {fmt(s["mb_received"], 1)} | {fmt(s["comm_ms"])} | '
                 f'{fmt(s["comm_pct"], 1)} | {fmt(s["imbalance_pct"], 1)} |')
lines.append('')

if any(step[config]['prism'] for config, _ in RESNET_CONFIGS):
    lines.append('## ResNet-20 training step (ms)')
    lines.append('')
    lines.append('`resnet_step` (nn::ResNet(20), batch 64, MomentumSGD) against '
                 '`torch_reference.py --model resnet20`, the same model, interleaved in the rounds above.')
    lines.append('')
    lines.append('| | prism `resnet_step` | PyTorch `torch_reference.py` | prism / PyTorch | per round |')
    lines.append('|---|---|---|---|---|')
    for config, label in RESNET_CONFIGS:
        lines.append(ratio_row(config, label, False))
    lines.append('')
    lines.append('| | conv GFLOP | % of peak | page faults | peak RSS MB |')
    lines.append('|---|---|---|---|---|')
    for config, label in RESNET_CONFIGS:
        s = step[config]
        lines.append(f'| {label} | {fmt(s["gflop"], 1)} | {fmt(s["pct_peak"], 1)} | {fmt(s["faults"])} | '
                     f'{fmt(s["rss"])} |')
    lines.append('')

big = {name: load_json(f'{out_dir}/hw128_{name}.json') for name in ('p1', 'p1_limited', 'p2_limited')}
limit_path = f'{out_dir}/memory_limit.txt'
if os.path.exists(limit_path):
    limit = open(limit_path).read().strip()
    lines.append(f'## 128x128 images, batch 32, and a memory limit of {limit} per process')
    lines.append('')
    lines.append('`vgg_step --image-size=128 --batch=32`, one repetition; `PRISM_MEMORY_LIMIT` caps what '
                 "each process's allocator holds.")
    lines.append('')
    lines.append('| run | step ms | peak RSS MB per rank | MB received | comm % |')
    lines.append('|---|---|---|---|---|')

    def big_row(label, doc, err_path):
        if doc and doc.get('benchmarks'):
            b = doc['benchmarks'][0]
            lines.append(f'| {label} | {fmt(b["real_time"])} | {fmt(b.get("peak_rss_mb"))} | '
                         f'{fmt(b.get("mb_received"), 1)} | {fmt(b.get("comm_pct"), 1)} |')
        else:
            err = open(err_path).read() if os.path.exists(err_path) else ''
            m = re.search(r'allocator: [^\n]*', err)
            lines.append(f'| {label} | stopped: `{m.group(0) if m else "no result"}` | | | |')
    big_row('1 process', big['p1'], f'{out_dir}/hw128_p1.json.err')
    big_row(f'1 process, limit {limit}', big['p1_limited'], f'{out_dir}/hw128_p1_limited.json.err')
    big_row(f'2 ranks x 1 thread, sharded, limit {limit}', big['p2_limited'],
            f'{out_dir}/hw128_p2_limited.json.err')
    lines.append('')



def conv_totals_table(found):
    """The table of each impl's ms summed over the shapes, a row per thread count and impl;
    returns the totals, (impl, threads) -> ms."""
    shown, impls_here = conv_shapes(found), conv_impls(found)
    lines.append('| threads | impl | fwd | bwd_data | bwd_weights | total | / onednn |')
    lines.append('|---|---|---|---|---|---|---|')
    sums = {}
    for n in conv_threads(found):
        per = {impl: [sum(found.get((p, impl, s, n), 0) for s in shown) for p in PASSES]
               for impl in impls_here}
        for impl in impls_here:
            sums[(impl, n)] = sum(per[impl])
        for impl in impls_here:
            ref = sums.get(('onednn', n))
            rel = sums[(impl, n)] / ref if ref else None
            lines.append(f'| {n} | {impl} | ' + ' | '.join(fmt(v, 1) for v in per[impl]) +
                         f' | {fmt(sums[(impl, n)], 1)} | {fmt(rel, 2)} |')
    lines.append('')
    return sums


def conv_ratio_table(found, bold_above, total_row=None):
    """prism / oneDNN per shape and pass, a column per pass and thread count; total_row: the
    label of a last row with the ratio of the sums over the shapes."""
    shown, counts = conv_shapes(found), conv_threads(found)
    lines.append(f'prism / oneDNN per shape and pass (above {bold_above} in bold):')
    lines.append('')
    head = ' | '.join(f'{p} {n}t' for n in counts for p in PASSES)
    lines.append(f'| shape | {head} |')
    lines.append('|---|' + '---|' * (len(counts) * len(PASSES)))

    def cell(a, b):
        r = a / b if a and b else None
        return f'**{r:.2f}**' if r and r > bold_above else fmt(r, 2)

    for s in shown:
        lines.append(f'| {s} | ' + ' | '.join(
            cell(found.get((p, isa, s, n)), found.get((p, 'onednn', s, n)))
            for n in counts for p in PASSES) + ' |')
    if total_row:
        def total(p, impl, n):  # None unless every shape has a time
            ts = [found.get((p, impl, s, n)) for s in shown]
            return sum(ts) if all(ts) else None
        lines.append(f'| {total_row} | ' + ' | '.join(
            cell(total(p, isa, n), total(p, 'onednn', n)) for n in counts for p in PASSES) + ' |')
    lines.append('')


if times:
    lines.append('## Convolutions on the 9 VGG16 shapes (ms)')
    lines.append('')
    lines.append(f'`conv_bench`: prism ({isa}) and oneDNN, which runs its preferred layouts with '
                 'its reorders of the NCHW inputs counted (onednn) and plain NCHW (onednn_nchw).')
    lines.append('')
    totals = conv_totals_table(times)
    if 'onednn' in impls:
        conv_ratio_table(times, 1.1)

if other_times:
    other_shapes = conv_shapes(other_times)
    lines.append(f'## Convolutions on {len(other_shapes)} other shapes (ms)')
    lines.append('')
    lines.append('`conv_bench`\'s second set, shapes VGG16 lacks: channel counts that are not multiples '
                 'of 16, odd sizes, 1x1 and 5x5 kernels, stride 2 (3x3, and the 1x1 shortcut), and '
                 'ResNet-20\'s convolutions for 32x32 inputs, named '
                 '`C<in>_K<out>_HW<size>_k<kernel>s<stride>p<pad>_N<batch>`; prism and the two oneDNN '
                 'variants as above.')
    lines.append('')
    conv_totals_table(other_times)
    if 'onednn' in conv_impls(other_times):
        conv_ratio_table(other_times, 1.15, f'all {len(other_shapes)}')

for t in (1, 2):
    path = f'{out_dir}/profile_{t}t.txt'
    if os.path.exists(path):
        lines.append(f'## Where the step goes: `vgg_step --profile`, {t} thread{"s" if t > 1 else ""}')
        lines.append('')
        lines.append('```')
        lines.append(open(path).read().rstrip())
        lines.append('```')
        lines.append('')

lines.append('## Every round (ms)')
lines.append('')
for config, label in CONFIGS:
    s = step[config]
    before = f'; before {", ".join(fmt(v) for v in s["before_rounds"])}' if baseline_rev else ''
    lines.append(f'- {label}: prism {", ".join(fmt(v) for v in s["prism_rounds"])}; '
                 f'PyTorch {", ".join(fmt(v) for v in s["torch_rounds"]) or "-"}{before}')
lines.append('')
report = f'{os.path.dirname(out_dir.rstrip("/"))}/{day}.md'
open(report, 'w').write('\n'.join(lines))
print('\n'.join(lines))

try:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
except ImportError:
    print('(no matplotlib: no chart)')
    sys.exit(0)
fig, axes = plt.subplots(1, 2 if times else 1, figsize=(11 if times else 6, 4.2), squeeze=False)
ax = axes[0][0]
labels = [label.replace(' x 1 thread,', ',') for _, label in CONFIGS]
xs = range(len(CONFIGS))
series = ([('before', f'prism before ({baseline_rev})')] if baseline_rev else []) + \
    [('prism', 'prism'), ('torch', 'PyTorch')]
width = 0.8 / len(series)
for i, (key, name) in enumerate(series):
    ax.bar([x + (i - (len(series) - 1) / 2) * width for x in xs], [step[c][key] or 0 for c, _ in CONFIGS],
           width, label=name)
ax.set_xticks(list(xs), labels, rotation=30, ha='right', fontsize=7)
ax.set_ylabel('ms per step (median)')
ax.set_title('VGG16 training step, batch 64')
ax.legend()
if times:
    ax = axes[0][1]
    width = 0.8 / len(impls)
    for i, impl in enumerate(impls):
        ax.bar([j + (i - (len(impls) - 1) / 2) * width for j in range(len(threads))],
               [totals[(impl, n)] for n in threads], width, label=impl)
    ax.set_xticks(range(len(threads)), [f'{n} thread{"s" if n > 1 else ""}' for n in threads])
    ax.set_ylabel('ms, all passes of the 9 shapes')
    ax.set_title('VGG16 convolutions')
    ax.legend()
fig.suptitle(f'{cpu_model()}, FMA peak {fmt(peak, 0)} GFLOP/s per core, {day}', fontsize=9)
fig.tight_layout()
fig.savefig(f'{os.path.dirname(out_dir.rstrip("/"))}/{day}.png', dpi=110)
