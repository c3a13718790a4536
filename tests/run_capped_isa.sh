#!/bin/sh
# run_capped_isa.sh ISA PROGRAM: PROGRAM with its kernels capped at ISA (PRISM_ISA), or skipped
# (exit 77, Meson's "skip") on a CPU without that ISA.
isa=$1
shift
[ "$isa" = scalar ] || grep -qw "$isa" /proc/cpuinfo || exit 77
PRISM_ISA=$isa exec "$@"
