#!/usr/bin/env bash
# edgewatch's streaming detectors on the Numenta Anomaly Benchmark (NAB v1.1),
# scored by NAB's own scorer beside the published scoreboard.
#
#   ./benches/nab.sh [CONFIG.toml]     (default: config/replay.toml's rules)
#
# Protocol: every data file is replayed through the real pipeline in event time
# (`edgewatch replay`), detectors learning only from what they have seen; the
# anomaly score of a row is 1 where an alert fired, else 0; NAB's optimiser then
# picks one threshold per profile and its scorer normalises (null detector 0,
# perfect 100). Needs ../shared/datasets/nab; skipped with a message without it.
set -euo pipefail
cd "$(dirname "$0")/.."
nab_src=${NAB_DIR:-../shared/datasets/nab}
if [ ! -d "$nab_src/data" ]; then
  echo "skipped: NAB not found at $nab_src (set NAB_DIR)"
  exit 0
fi
config=${1:-}
work=target/nab-work
venv=target/nab-venv
cargo build --release --quiet
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet pandas simplejson
fi
rm -rf "$work" && mkdir -p "$work" && cp -r "$nab_src"/. "$work"/
# NAB's scorer was written for pandas 0.23: the calls that changed since.
sed -i 's/pandas.io.parsers.read_csv/pandas.read_csv/' "$work/nab/corpus.py"
sed -i 's/labels\["label"\].values\[indices.values\] = 1/labels.loc[indices, "label"] = 1/' "$work/nab/labeler.py"
detector=edgewatch
start=$(date +%s.%N)
rows=0
for f in "$work"/data/*/*.csv; do
  category=$(basename "$(dirname "$f")")
  name=$(basename "$f")
  out="$work/results/$detector/$category/${detector}_$name"
  mkdir -p "$(dirname "$out")"
  ./target/release/edgewatch replay ${config:+--config "$config"} --prefix nab/ \
    --scores "$out" "$f" > /dev/null
  rows=$((rows + $(wc -l < "$f") - 1))
done
wall=$(echo "$(date +%s.%N) - $start" | bc)
echo "replayed $rows rows of $(ls "$work"/data/*/*.csv | wc -l) files in ${wall}s"
(cd "$work" && ../../"$venv"/bin/python run.py -d "$detector" --optimize --score --normalize \
  --skipConfirmation > nab-run.log 2>&1) || { tail -30 "$work/nab-run.log"; exit 1; }
"$venv/bin/python" - "$work/results/final_results.json" "$detector" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))
ours = results[sys.argv[2]]
print("| detector | standard | reward low FP | reward low FN |")
print("| --- | ---: | ---: | ---: |")
def row(name, r):
    print(f"| {name} | {r['standard']:.1f} | {r['reward_low_FP_rate']:.1f} | {r['reward_low_FN_rate']:.1f} |")
row("**edgewatch (this run)**", ours)
for name in ["ARTime", "numenta", "knncad", "relativeEntropy", "randomCutForest", "windowedGaussian", "random", "null"]:
    if name in results:
        row(name, results[name])
PY
