#!/bin/sh
# run_fuzz.sh TARGET CORPUS: TARGET under libFuzzer for FUZZ_SECONDS (default 10) from CORPUS;
# new inputs go to a scratch folder, so the repository's corpus stays as it is.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$1" -max_total_time="${FUZZ_SECONDS:-10}" -seed=1 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$work/" "$work" "$2"
