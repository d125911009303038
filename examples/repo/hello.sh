#!/bin/sh
# Prints a greeting: the example repository's whole program.
echo "Hello, ${1:-world}!"
