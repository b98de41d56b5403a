#!/usr/bin/env bash
# Install everything the tests need (Debian's Fashion-MNIST package, the Nanum fonts for
# Korean figures, headless Chromium and its WebDriver for the pages' tests, the dev extra
# with PyTorch as the test oracle and Jupyter's notebook runner) and run the whole test
# suite. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_bootstrap.sh
apt_install dataset-fashion-mnist fonts-nanum chromium chromium-driver
bootstrap_venv '.[dev]'
.venv/bin/python -m pytest "$@"
