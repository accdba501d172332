#!/usr/bin/env bash
# What the README's first command shows once cardfs is built.
set -euo pipefail
cd "$(dirname "$0")/.."
build/cardfs --version
