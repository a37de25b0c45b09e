#!/usr/bin/env bash
# Trains the model the package ships (models/emodb.safetensors): the default recipe on all ten EMO-DB speakers,
# no cross-validation (`ser train --final-only`). A minute or two on a 2-core CPU with lavapipe.
#   scripts/ship-model.sh [EMO-DB folder, default ../shared/data/emodb]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/emodb}
node scripts/build.mjs
node dist/node/cli.js train --corpus emodb --data "$data" --final-only --no-tune --overwrite --out runs/ship-model
mkdir -p models
cp runs/ship-model/model.safetensors models/emodb.safetensors
echo "models/emodb.safetensors: $(stat -c %s models/emodb.safetensors) bytes"
