#!/usr/bin/env python3
"""PyTorch reference for vgg_step: the same VGG16, data shapes and training step, for scripts/bench.

The model is prism's nn::VGG16 for 32x32x3 inputs: 13 blocks of 3x3 convolution (no bias), batch
normalization and ReLU, each followed by dropout or 2x2 max pooling, then dropout, linear 512->512
(no bias), batch normalization, ReLU, dropout and linear 512->10 (no bias). One step is forward,
softmax cross entropy, backward and momentum SGD (lr 0.01, momentum 0.9), batch 64 per process.

  torch_reference.py --threads 2     # one process, 2 intra-op threads
  torch_reference.py --procs 2       # 2 processes x 1 thread, channel-parallel as prism's
                                     # ParallelConvolution2D (gloo)
  torch_reference.py --procs 2 --ddp # 2 processes x 1 thread, data parallel: the whole model in
                                     # DistributedDataParallel (gloo), a batch on each

--procs P splits every convolution with at least P input channels as prism does: rank r convolves
input channels r, r+P, ... into its block of the output channels; the blocks are allgathered along
the channels. The gradient rule is prism's default (GradRule::exact): the input gradient is summed
over the ranks, the allgather's backward keeps the rank's own block.

--ddp is vgg_step --model-parallel=1's counterpart, with one difference: PyTorch's SyncBatchNorm
runs on GPUs only, so its BN layers normalize each process's own batch (DDP broadcasts rank 0's
running statistics), where prism's synchronized BN makes two small allreduces per layer.

--model resnet20 (or resnet32, resnet56; one process only) is resnet_step's model instead:
prism's nn::ResNet, He et al.'s CIFAR ResNet with option-B shortcuts (a 1x1 convolution and BN
where a block changes the shape), no convolution biases, global average pooling, linear 64->10.

Prints one line: "torch_reference <label> median_ms <m> steps <n> torch <version>".
"""
import argparse
import os
import statistics
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F

# (output channels, what follows the block: a dropout ratio, or 0 for 2x2 max pooling)
LAYERS = [(64, .3), (64, 0), (128, .4), (128, 0), (256, .4), (256, .4), (256, 0), (512, .4),
          (512, .4), (512, 0), (512, .4), (512, .4), (512, 0)]


class SumGradients(torch.autograd.Function):
    """Identity forward; backward sums the gradient over the ranks (allreduce)."""

    @staticmethod
    def forward(ctx, x):
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):
        g = g.contiguous()
        dist.all_reduce(g)
        return g


class AllGatherChannels(torch.autograd.Function):
    """Concatenates every rank's block along dim 1; backward keeps this rank's block."""

    @staticmethod
    def forward(ctx, x, extents):
        parts = [x.new_empty((x.shape[0], e) + tuple(x.shape[2:])) for e in extents]
        dist.all_gather(parts, x.contiguous())
        r = dist.get_rank()
        ctx.block = (sum(extents[:r]), extents[r])
        return torch.cat(parts, 1)

    @staticmethod
    def backward(ctx, g):
        start, width = ctx.block
        return g[:, start:start + width].contiguous(), None


def share(channels, procs, rank):
    return channels // procs + (1 if rank < channels % procs else 0)


class ParallelConv(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        P, r = dist.get_world_size(), dist.get_rank()
        self.conv = nn.Conv2d(share(cin, P, r), share(cout, P, r), 3, padding=1, bias=False)
        self.register_buffer('inputs', torch.arange(r, cin, P))
        self.extents = [share(cout, P, j) for j in range(P)]

    def forward(self, x):
        local = self.conv(SumGradients.apply(x).index_select(1, self.inputs))
        return AllGatherChannels.apply(local, self.extents)


def vgg16(procs):
    layers, cin = [], 3
    for cout, after in LAYERS:
        parallel = procs > 1 and procs <= cin
        layers += [ParallelConv(cin, cout) if parallel else nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                   nn.BatchNorm2d(cout), nn.ReLU()]
        layers.append(nn.MaxPool2d(2) if after == 0 else nn.Dropout(after))
        cin = cout
    layers += [nn.Flatten(), nn.Dropout(.5), nn.Linear(512, 512, bias=False), nn.BatchNorm1d(512),
               nn.ReLU(), nn.Dropout(.5), nn.Linear(512, 10, bias=False)]
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + self.shortcut(x))


def resnet(depth):
    blocks = (depth - 2) // 6
    layers, cin = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()], 16
    for stage in range(3):
        for b in range(blocks):
            layers.append(BasicBlock(cin, 16 << stage, 2 if stage > 0 and b == 0 else 1))
            cin = 16 << stage
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    return nn.Sequential(*layers)


def median_step_ms(procs, steps, batch, ddp=False, model_name='vgg16'):
    torch.manual_seed(7)
    model = resnet(int(model_name[6:])) if model_name.startswith('resnet') else vgg16(1 if ddp else procs)
    if ddp:
        model = nn.parallel.DistributedDataParallel(model)  # 25 MB buckets, as prism's default
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(batch, 3, 32, 32) * 2 - 1
    t = torch.randint(0, 10, (batch,))
    times = []
    for i in range(steps + 1):  # the first step is not timed, as in vgg_step
        t0 = time.perf_counter()
        opt.zero_grad()
        F.cross_entropy(model(x), t).backward()
        opt.step()
        if i > 0:
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def worker(rank, procs, port, steps, batch, ddp):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group('gloo', rank=rank, world_size=procs)
    ms = median_step_ms(procs, steps, batch, ddp)
    if rank == 0:
        print(f'torch_reference {"ddp" if ddp else "procs"}_{procs} median_ms {ms:.1f} steps {steps} torch {torch.__version__}',
              flush=True)
    dist.destroy_process_group()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--procs', type=int, default=1)
    ap.add_argument('--steps', type=int, default=5)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--port', type=int, default=29533)
    ap.add_argument('--ddp', action='store_true', help='data parallel (with --procs)')
    ap.add_argument('--model', default='vgg16', choices=['vgg16', 'resnet20', 'resnet32', 'resnet56'])
    a = ap.parse_args()
    if a.model != 'vgg16' and a.procs > 1:
        ap.error('--model resnet* runs in one process')
    if a.procs > 1:
        mp.spawn(worker, args=(a.procs, a.port, a.steps, a.batch, a.ddp), nprocs=a.procs)
    else:
        torch.set_num_threads(a.threads)
        ms = median_step_ms(1, a.steps, a.batch, model_name=a.model)
        label = f'threads_{a.threads}' if a.model == 'vgg16' else f'{a.model}_threads_{a.threads}'
        print(f'torch_reference {label} median_ms {ms:.1f} steps {a.steps} torch {torch.__version__}',
              flush=True)


if __name__ == '__main__':
    main()
