#!/bin/sh
# run_fuzz.sh TARGET CORPUS FINDINGS: TARGET under libFuzzer for FUZZ_SECONDS (default 10) from
# CORPUS. New inputs go to a scratch folder, so the repository's corpus stays as it is; an
# input that fails is kept as FINDINGS<kind>-<hash> (e.g. build-fuzz/fuzz/findings/idx-crash-...).
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$(dirname "$3")"
"$1" -max_total_time="${FUZZ_SECONDS:-10}" -seed=1 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$3" "$work" "$2"
