#!/usr/bin/env bash
# `make run`: runs Prowl's main job on the embedded default. Until `prowl up` exists (issue 8) it shows
# what the built binary already does with the seed's job.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "Built bin/prowl. Subcommands available now:"
bin/prowl --help
echo
echo "Not yet built: 'prowl up' (the whole system on one machine), which 'make run' will start."
