#!/usr/bin/env bash
# Install mitbadak into .venv and train the book's network (784-50-10, SGD, lr 0.1,
# batch 100, 1000 iterations) on the bundled MNIST sample: no network needed after the
# install. Safe to run again: installing is a no-op the second time, and each training
# run gets its own runs/NNN folder. Debian's Nanum fonts let curves.png speak Korean
# (under a Korean locale, or with --lang ko).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_bootstrap.sh
apt_install fonts-nanum
bootstrap_venv .
.venv/bin/mitbadak train --dataset mnist-sample "$@"
