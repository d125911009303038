#!/bin/sh
# The example repository's test, run by its presubmit and postsubmit: hello.sh must greet by name.
set -eu
got=$(./hello.sh Prowl)
if [ "$got" != "Hello, Prowl!" ]; then
  echo "FAIL: hello.sh Prowl printed '$got', want 'Hello, Prowl!'"
  exit 1
fi
echo "PASS: $got"
