#!/usr/bin/env bash
# `make run`: the README's first command. Until `prowl up` exists (issue 8), it checks the example
# config (the seed's echo-test periodic) with the built prowl and says what is still missing.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== prowl checkconfig --config-path examples/config.yaml --job-config-path examples/jobs"
bin/prowl checkconfig --config-path examples/config.yaml --job-config-path examples/jobs
echo
echo "Not built yet: 'prowl up' (the local control plane and node that run Horologium and Plank here),"
echo "which 'make run' will start to run echo-test end to end. See README.md, Status."
