#!/usr/bin/env bash
# The libFuzzer targets of Fuzz/ (docs/TESTING.md, "Fuzzing").
#   scripts/fuzz.sh [--time SECONDS|30s|5m|1h] [TARGET...]
# Builds Fuzz/ with -sanitize=fuzzer,address (release, its own .build), then runs each target
# (all by default) for the given time on its corpus: the committed seeds in Fuzz/Corpus/<target>
# plus what earlier runs found in Fuzz/.corpus/<target> (not committed). A crash stops that
# target, leaves crash-* in Fuzz/.artifacts/<target>/ and makes the script exit 1; turn each one
# into a regression test in the unit tests, then fix it.
set -euo pipefail
cd "$(dirname "$0")/../Fuzz"
SWIFT=${SWIFT:-swift}
time_s=30
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --time) shift; t=$1
            case "$t" in *h) time_s=$(( ${t%h} * 3600 ));; *m) time_s=$(( ${t%m} * 60 ));; *s) time_s=${t%s};; *) time_s=$t;; esac;;
        -h|--help) sed -n 2,9p "$0"; exit 0;;
        *) targets+=("$1");;
    esac
    shift
done
[ ${#targets[@]} -gt 0 ] || targets=(FuzzWireRequest FuzzRecordBatch FuzzMetadataRecords FuzzRaftWAL)
flags=(-c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
"$SWIFT" build "${flags[@]}" 2>&1 | grep -vE 'warning: Cannot export local symbol' | tail -3
bin=$("$SWIFT" build "${flags[@]}" --show-bin-path)
status=0
for target in "${targets[@]}"; do
    mkdir -p ".corpus/$target" ".artifacts/$target"
    echo "== $target for ${time_s}s"
    if ! "$bin/$target" -max_total_time="$time_s" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix=".artifacts/$target/" ".corpus/$target" "Corpus/$target" \
        > ".artifacts/$target/last-run.log" 2>&1; then
        echo "$target: crash, see Fuzz/.artifacts/$target/ and last-run.log" >&2
        status=1
    fi
    grep -E '^#[0-9]+.*(DONE|pulse)|stat::number_of_executed_units|cov:' ".artifacts/$target/last-run.log" | tail -3
done
exit $status
