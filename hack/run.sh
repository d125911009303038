#!/usr/bin/env bash
# `make run`: the README's first command. Runs Prowl on this machine with the embedded examples:
# a local control plane, Horologium, Plank and the local node run the seed's echo-test periodic.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${PROWL_DATA_DIR:-$HOME/.local/share/prowl}"
echo "Starting Prowl with the examples; data in $data. Ctrl-C stops."
echo "In another terminal: $(hack/controlplane/build.sh)/kubectl --kubeconfig $data/kubeconfig get prowjobs"
exec bin/prowl up --data-dir "$data"
