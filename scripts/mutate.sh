#!/usr/bin/env bash
# `make mutate`: proves the test suite catches small regressions in the code users rely on.
#
# Each mutation below is one literal text substitution in one file of Sources/. It is applied,
# one at a time, to a SCRATCH COPY of the repository (.build-mutate/src, never the working tree),
# the copy is rebuilt (incrementally: the copy and its .build persist between runs) and the tests
# that guard that code run (`swift test --filter`). A mutation is caught when they fail. The
# script prints `caught K of N mutations` and exits non-zero unless every mutation was caught.
#
# A mutation whose pattern does not occur exactly once, or whose mutant does not compile, stops
# the run with an error: the list must never rot silently into no-ops.
#
# Usage: scripts/mutate.sh [--list] [ID...]     (no IDs: all mutations)
# Needs only what `make deps` installs plus bash, git and coreutils. docs/TESTING.md lists the
# mutations with the test that catches each.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scratch="$root/.build-mutate/src"
SWIFT=${SWIFT:-swift}

ids=() files=() filters=() froms=() tos=()
# mutation ID FILE TEST-FILTER FROM TO
mutation() { ids+=("$1"); files+=("$2"); filters+=("$3"); froms+=("$4"); tos+=("$5"); }

mutation shuffle-draw Sources/Datasets/Shuffle.swift 'DatasetsTests\.(ShuffleTests|GoldenOrderTests)' \
    'let slot = rng.nextIndex(below: buffer.count)' \
    'let slot = rng.nextIndex(below: Swift.max(1, buffer.count - 1))'
mutation derived-seed-constant Sources/Tensors/SplitMix64.swift 'TensorsTests\.(SplitMix64Tests|GoldenSplitMix64Tests)' \
    'var value = mix(seed ^ 0x5851_F42D_4C95_7F2D)' \
    'var value = mix(seed ^ 0x5851_F42D_4C95_7F2F)'
mutation bn-biased-variance Sources/Training/Math/BatchNormMath.swift 'TrainingTests\.(BatchNormalizationTests|KerasConformanceTests)' \
    'for j in 0..<c { v[j] *= scale }' \
    'for j in 0..<c { v[j] /= S(Swift.max(1, n - 1)) }'
mutation bn-epsilon Sources/Training/Math/BatchNormMath.swift 'TrainingTests\.(BatchNormalizationTests|KerasConformanceTests)' \
    'variance.map { 1 / ($0 + epsilon).squareRoot() }' \
    'variance.map { 1 / ($0 + 10 * epsilon).squareRoot() }'
mutation bn-momentum Sources/Training/Math/BatchNormMath.swift 'TrainingTests\.(BatchNormalizationTests|KerasConformanceTests)' \
    'for j in m.indices { m[j] = m[j] * keep + batch[j] * take }' \
    'for j in m.indices { m[j] = m[j] * take + batch[j] * keep }'
mutation keras-config-key Sources/Training/Layers/BatchNormalization.swift 'CheckpointsTests\.(KerasSaveTests|KerasWrittenFixtureTests)' \
    'config.set("momentum", momentum)' \
    'config.set("moving_momentum", momentum)'
mutation atomic-rename Sources/HDF5/HDF5File+AtomicWrite.swift 'HDF5Tests\.AtomicWriteTests' \
    'let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(uniqueSuffix())")' \
    'let temporary = url'
mutation stale-temporary-sweep Sources/Checkpoints/Native/NativeCheckpoint.swift 'CheckpointsTests\.CrashTests' \
    '_ = try? HDF5File.removeStaleTemporaries(of: url)' \
    '_ = url'
mutation strict-load-diff Sources/Checkpoints/Native/VariableComparison.swift 'CheckpointsTests\.NativeCheckpointTests' \
    'if type != .float32 || foundShape != shape {' \
    'if type != .float32 {'
mutation iterator-state-kind Sources/Datasets/IteratorState.swift 'DatasetsTests\.ResumeTests' \
    'guard self.kind == kind, self.counters.count == counters,' \
    'guard self.counters.count == counters,'
mutation iterator-state-parameters Sources/Datasets/IteratorState.swift 'DatasetsTests\.StateParameterTests' \
    'if let savedValue = saved[name], let currentValue = current[name], savedValue != currentValue {' \
    'if let savedValue = saved[name], let currentValue = current[name], savedValue != currentValue, false {'
mutation prefetch-bound Sources/Datasets/Prefetch.swift 'DatasetsTests\.(PrefetchTests|PrefetchStressTests|PrefetchPlacementTests)' \
    'buffer = HandoffBuffer(capacity: capacity)' \
    'buffer = HandoffBuffer(capacity: capacity + 2)'
mutation prefetch-stop-on-drop Sources/Datasets/Prefetch.swift 'DatasetsTests\.(PrefetchTests|PrefetchStressTests|PrefetchPlacementTests)' \
    'deinit { buffer.cancel() }' \
    'deinit {}'
mutation unordered-map-early-set Sources/Datasets/ParallelMap.swift 'DatasetsTests\.UnorderedMapTests' \
    '            early.insert(ordinal)' \
    '            _ = ordinal'
mutation hdf5-dtype-uint32 Sources/HDF5/HDF5ElementType.swift 'HDF5Tests\.DatasetRoundTripTests' \
    'case (4, true): return .uint32' \
    'case (4, true): return .int32'
mutation adam-bias-correction Sources/Training/Optimizers/Adam.swift 'TrainingTests\.OptimizerTests' \
    'let alpha = learningRate * (1 - beta2Power).squareRoot() / (1 - beta1Power)' \
    'let alpha = learningRate * (1 - beta2Power).squareRoot()'
mutation bce-loss-formula Sources/Training/Math/LossMath.swift 'TrainingTests\.LossTests' \
    'let per = -(t * S.logarithm(q) + (1 - t) * S.logarithm(1 - q))' \
    'let per = -(t * S.logarithm(q) + (1 - t) * S.logarithm(q))'
mutation recalibration-variance Sources/Training/Math/BatchNormMath.swift 'TrainingTests\.ReadmeQuickStartTests' \
    'Float(Swift.max(0, sumOfSquares[$0] / n - (sum[$0] / n) * (sum[$0] / n)))' \
    'Float(Swift.max(0, sumOfSquares[$0] / (n - 1) - (sum[$0] / n) * (sum[$0] / n)))'
mutation experiment-report-value Sources/Experiments/SeedExperimentReport.swift 'ExperimentsTests\.SeedExperimentTests' \
    '"batch_statistics_accuracy": accuracies.batchStatistics,' \
    '"batch_statistics_accuracy": accuracies.fullBatchStatistics,'

if [ "${1:-}" = "--list" ]; then
    for i in "${!ids[@]}"; do printf '%-26s %-52s %s\n' "${ids[$i]}" "${files[$i]}" "${filters[$i]}"; done
    exit 0
fi
selected=("$@")
wanted() {
    [ ${#selected[@]} -eq 0 ] && return 0
    local s; for s in "${selected[@]}"; do [ "$s" = "$1" ] && return 0; done
    return 1
}
for s in "${selected[@]}"; do
    found=0; for id in "${ids[@]}"; do [ "$id" = "$s" ] && found=1; done
    [ $found -eq 1 ] || { echo "mutate: unknown mutation '$s' (see --list)" >&2; exit 2; }
done

# Brings the scratch copy in line with the working tree (tracked and new files), copying only
# files that differ and keeping their times, so the scratch build stays incremental.
sync_scratch() {
    mkdir -p "$scratch"
    git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' path; do
        [ -f "$path" ] || continue
        if ! cmp -s "$path" "$scratch/$path"; then
            mkdir -p "$scratch/$(dirname "$path")"
            cp -p "$path" "$scratch/$path"
        fi
    done
    [ -f Package.resolved ] && ! cmp -s Package.resolved "$scratch/Package.resolved" && cp -p Package.resolved "$scratch/"
    return 0
}

# Replaces the one literal occurrence of FROM with TO in FILE (bash string replacement: no
# regular-expression escaping); fails unless FROM occurs exactly once. Run inside the scratch copy.
apply_mutation() {
    local file=$1 from=$2 to=$3 content count
    content=$(cat "$file"; printf x); content=${content%x}
    count=$(grep -cF -- "$from" "$file")
    if [ "$count" -ne 1 ]; then
        echo "mutate: pattern occurs $count times (needs exactly 1) in $file: $from" >&2
        return 1
    fi
    printf '%s' "${content/"$from"/"$to"}" > "$file"
    if cmp -s "$file" "$pristine" || ! grep -qF -- "$to" "$file"; then
        echo "mutate: substitution had no effect in $file" >&2
        return 1
    fi
}

echo "mutate: syncing the scratch copy $scratch"
sync_scratch
log_dir="$root/.build-mutate/logs"
mkdir -p "$log_dir"
echo "mutate: building the unmutated copy (the tests must pass on it first)"
if ! (cd "$scratch" && $SWIFT build --build-tests) > "$log_dir/baseline-build.log" 2>&1; then
    echo "mutate: the unmutated copy does not build; see $log_dir/baseline-build.log" >&2
    exit 2
fi

# Baseline: the chosen tests must pass without any mutation, or "caught" would mean nothing.
baseline=()
for i in "${!ids[@]}"; do wanted "${ids[$i]}" && baseline+=("--filter" "${filters[$i]}"); done
echo "mutate: running the chosen tests on the unmutated copy"
if ! (cd "$scratch" && $SWIFT test --skip-build "${baseline[@]}") > "$log_dir/baseline.log" 2>&1; then
    echo "mutate: the tests fail WITHOUT any mutation; see $log_dir/baseline.log" >&2
    exit 2
fi

caught=0 total=0 missed=()
for i in "${!ids[@]}"; do
    id=${ids[$i]} file=${files[$i]} filter=${filters[$i]}
    wanted "$id" || continue
    total=$((total + 1))
    # The unmutated file is kept aside and put back afterwards (the working tree may change
    # while this runs; the scratch copy must stay the one the baseline tested).
    pristine="$log_dir/pristine.swift"
    cp -p "$scratch/$file" "$pristine"
    (cd "$scratch" && apply_mutation "$file" "${froms[$i]}" "${tos[$i]}") || { cp -p "$pristine" "$scratch/$file"; exit 2; }
    if ! (cd "$scratch" && $SWIFT build --build-tests) > "$log_dir/$id.build.log" 2>&1; then
        cp -p "$pristine" "$scratch/$file"
        echo "mutate: $id: the mutant does not compile; see $log_dir/$id.build.log" >&2
        exit 2
    fi
    if (cd "$scratch" && $SWIFT test --skip-build --filter "$filter") > "$log_dir/$id.log" 2>&1; then
        echo "MISSED  $id ($file): '$filter' still passes"
        missed+=("$id")
    else
        caught=$((caught + 1))
        failing=$(grep -oE 'Test ("[^"]*"|[A-Za-z0-9_]+\([^)]*\)) (with [^"]* )?(failed|recorded an issue)' "$log_dir/$id.log" | head -n 1)
        echo "caught  $id ($file) by '$filter'${failing:+: $failing}"
    fi
    cp -p "$pristine" "$scratch/$file"          # restore before the next mutation
done
# Leave the scratch build matching the working tree for the next (incremental) run.
(cd "$scratch" && $SWIFT build --build-tests) > "$log_dir/restore-build.log" 2>&1 || true

echo "caught $caught of $total mutations"
if [ "$caught" -ne "$total" ]; then
    echo "mutate: FAILED; not caught: ${missed[*]}"
    exit 1
fi
