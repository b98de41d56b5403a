# Shared by the install-and-* scripts (sourced, not run). Works on a fresh Debian machine
# with Python >= 3.11, as root or with sudo, and does nothing that is already done.

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# apt_install PACKAGE...: install the Debian packages that are missing.
apt_install() {
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$package")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        as_root apt-get update
        as_root apt-get install -y "${missing[@]}"
    fi
}

# bootstrap_venv TARGET: create .venv (with Debian's venv module if Python lacks it) and
# pip-install TARGET (".", or ".[dev]") into it in editable mode.
bootstrap_venv() {
    python3 -c 'import sys; assert sys.version_info >= (3, 11), sys.version' \
        || { echo "mitbadak needs Python >= 3.11" >&2; exit 1; }
    if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
        apt_install python3-venv
    fi
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/python -m pip install --quiet -e "$1"
}
