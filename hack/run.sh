#!/usr/bin/env bash
# `make run`: the README's first command. Until the local node exists (issue 8), it checks the
# example config (the seed's echo-test periodic) with the built prowl and says what is still missing.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== prowl checkconfig --config-path examples/config.yaml --job-config-path examples/jobs"
bin/prowl checkconfig --config-path examples/config.yaml --job-config-path examples/jobs
echo
echo "'prowl up' starts a local control plane with Horologium and Plank: echo-test's ProwJob and Pod"
echo "are created, but the local node that runs Pods on this machine is not built yet, so 'make run'"
echo "does not start it. Try: bin/prowl up --data-dir /tmp/prowl   (Ctrl-C stops; see README.md, Status)."
