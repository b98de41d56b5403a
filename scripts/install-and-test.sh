#!/usr/bin/env bash
# Install everything the tests need (Debian's Fashion-MNIST package, headless Chromium and
# its WebDriver for the browser tests, the Nanum fonts for Korean figures, the dev extra
# with PyTorch as the test oracle and Jupyter's notebook runner) and run the whole test
# suite. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_bootstrap.sh
apt_install dataset-fashion-mnist chromium chromium-driver fonts-nanum
bootstrap_venv '.[dev]'
.venv/bin/python -m pytest "$@"
