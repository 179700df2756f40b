#!/usr/bin/env bash
# Creates venv/ and installs the pinned Python packages. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3}"
CLIENT_VERSION="${TDENGINE_CLIENT_VERSION:-3.3.6.0}"
CLIENT_URL="${TDENGINE_CLIENT_URL:-https://www.taosdata.com/assets-download/3.0/TDengine-client-${CLIENT_VERSION}-Linux-x64.tar.gz}"

usage() {
    cat <<USAGE
Usage: ./install.sh [--test] [--native-client] [--edit-profile] [--help]

Creates ./venv with $PYTHON and installs requirements.txt. The demo talks to TDengine
through the WebSocket connector (taosws), which needs no TDengine client library.

  --test           also install the test tools (requirements-test.txt)
  --native-client  opt-in: download TDengine's client library (libtaos.so, about 60 MB) from
                   $CLIENT_URL
                   into ./tdengine-client, for taospy's native \`taos\` module. Not needed by the demo.
  --edit-profile   with --native-client: append the LD_LIBRARY_PATH line to ~/.bashrc
  --help           this text

Environment: PYTHON, TDENGINE_CLIENT_VERSION, TDENGINE_CLIENT_URL.
USAGE
}

die() { echo "install.sh: $*" >&2; exit 1; }

test_tools=no native=no edit_profile=no
for arg in "$@"; do
    case "$arg" in
        --test) test_tools=yes ;;
        --native-client) native=yes ;;
        --edit-profile) edit_profile=yes ;;
        --help|-h) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $arg" ;;
    esac
done
[ "$edit_profile" = yes ] && [ "$native" = no ] && die "--edit-profile only goes with --native-client"

# The minimum Python is stated once, in pyproject.toml (requires-python = ">=X.Y").
MIN_PYTHON="$(sed -nE 's/^requires-python = ">=([0-9]+)\.([0-9]+)"$/\1.\2/p' pyproject.toml)"
[ -n "$MIN_PYTHON" ] || die "pyproject.toml has no requires-python = \">=X.Y\" line"
command -v "$PYTHON" >/dev/null || die "$PYTHON not found (set PYTHON=/path/to/python$MIN_PYTHON+)"
"$PYTHON" -c "import sys; sys.exit(sys.version_info[:2] < tuple(map(int, '$MIN_PYTHON'.split('.'))))" \
    || die "Python $MIN_PYTHON or newer is needed ($PYTHON is $("$PYTHON" --version 2>&1))"

if [ ! -x venv/bin/python ]; then
    echo "creating venv/ with $("$PYTHON" --version)"
    "$PYTHON" -m venv venv || die "could not create venv/ (on Debian/Ubuntu: apt-get install python3-venv)"
fi
requirements=requirements.txt
[ "$test_tools" = yes ] && requirements=requirements-test.txt
echo "installing $requirements into venv/"
venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements" \
    || die "pip could not install $requirements (offline? a proxy? see pip's message above)"
venv/bin/python -c 'import taosws, perspective, tornado' || die "the installed packages do not import"

install_native_client() {
    local dir=tdengine-client archive
    archive="$(mktemp)"
    echo "downloading the TDengine client $CLIENT_VERSION from $CLIENT_URL"
    curl -fL --retry 2 --connect-timeout 15 -o "$archive" "$CLIENT_URL" \
        || { rm -f "$archive"; die "could not download $CLIENT_URL (offline? set TDENGINE_CLIENT_URL)"; }
    rm -rf "$dir" && mkdir -p "$dir"
    tar -xzf "$archive" -C "$dir" --strip-components=1 || die "the download is not a client archive"
    rm -f "$archive"
    local driver="$PWD/$dir/driver"
    ln -sf "$(cd "$driver" && ls libtaos.so.* | head -1)" "$driver/libtaos.so"
    local line="export LD_LIBRARY_PATH=\"\${LD_LIBRARY_PATH:+\$LD_LIBRARY_PATH:}$driver\""
    if [ "$edit_profile" = yes ]; then
        grep -qxF "$line" ~/.bashrc 2>/dev/null || echo "$line" >> ~/.bashrc
        echo "added LD_LIBRARY_PATH to ~/.bashrc (open a new shell)"
    else
        echo "to use it, run (or add to your shell profile):"
        echo "  $line"
    fi
}
[ "$native" = yes ] && install_native_client

echo "done. Activate with: source venv/bin/activate"
