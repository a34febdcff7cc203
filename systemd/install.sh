#!/usr/bin/env bash
# Install, upgrade or remove classroom-edge on a Debian/Ubuntu device (see systemd/README.md).
#
#   systemd/install.sh install   [--root DIR] [--offline] [--site-packages DIR]
#   systemd/install.sh upgrade   [--root DIR] [--offline] [--site-packages DIR]
#   systemd/install.sh uninstall [--root DIR] [--purge]
#
# Layout under ROOT (default /):
#   opt/classroom-edge/            virtualenv with the package; bin/edge is the command
#   opt/classroom-edge/share/      README.md (the unit's Documentation=)
#   usr/local/bin/edge             symlink to the venv's edge
#   etc/systemd/system/edge.service
#   etc/classroom-edge/edge.toml   the config: created from config/edge.toml, never overwritten
#   etc/classroom-edge/edge.toml.dist   the template of this version, to compare after upgrades
#   var/lib/classroom-edge         state (store, tokens): made by systemd (StateDirectory=)
#
# --offline: no package index: the wheel is built by $PYTHON (needs setuptools and wheel) and
#   dependencies must already be importable (the system's site packages, or --site-packages DIR:
#   an existing environment's site-packages, added to the venv by a .pth file).
# systemctl daemon-reload / enable / restart run only when ROOT is / and systemd is running.
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
UNIT=edge.service

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

[ $# -ge 1 ] || usage
ACTION="$1"; shift
ROOT=/ OFFLINE=0 SITE="" PURGE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT="${2:?--root needs a directory}"; shift 2 ;;
    --offline) OFFLINE=1; shift ;;
    --site-packages) SITE="${2:?--site-packages needs a directory}"; shift 2 ;;
    --purge) PURGE=1; shift ;;
    *) usage ;;
  esac
done
ROOT="$(mkdir -p "$ROOT" && cd "$ROOT" && pwd)"
R="${ROOT%/}"
VENV="$R/opt/classroom-edge"
ETC="$R/etc/classroom-edge"
UNIT_DIR="$R/etc/systemd/system"

say() { echo "install.sh: $*"; }

live_systemd() { [ "$ROOT" = / ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; }

install_package() {
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating virtualenv $VENV"
    if [ "$OFFLINE" = 1 ]; then
      "$PYTHON" -m venv --system-site-packages "$VENV"
    else
      "$PYTHON" -m venv "$VENV"
    fi
  fi
  if [ -n "$SITE" ]; then
    site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    echo "$SITE" > "$site/classroom-edge-deps.pth"
  fi
  # Build from a clean copy of the sources: no build/ or egg-info left in the checkout.
  build="$(mktemp -d)"
  trap 'rm -rf "$build"' RETURN
  cp -r "$SRC/pyproject.toml" "$SRC/README.md" "$SRC/edge" "$SRC/models" "$SRC/sensors" \
        "$SRC/sync" "$build/"
  find "$build" -name __pycache__ -prune -exec rm -rf {} +
  if [ "$OFFLINE" = 1 ]; then
    # Build with $PYTHON's own setuptools and wheel (no index to fetch build tools from).
    "$PYTHON" -m pip wheel --quiet --no-index --no-deps --no-build-isolation -w "$build/dist" "$build"
    "$VENV/bin/python" -m pip install --quiet --no-index --no-deps --force-reinstall \
      "$build"/dist/classroom_edge-*.whl
  else
    "$VENV/bin/python" -m pip install --quiet --upgrade "$build"
  fi
  "$VENV/bin/edge" --version >/dev/null
}

install_files() {
  mkdir -p "$UNIT_DIR" "$ETC" "$VENV/share" "$R/usr/local/bin"
  install -m 0644 "$SRC/systemd/edge.service" "$UNIT_DIR/$UNIT"
  install -m 0644 "$SRC/systemd/README.md" "$VENV/share/README.md"
  install -m 0644 "$SRC/config/edge.toml" "$ETC/edge.toml.dist"
  if [ -e "$ETC/edge.toml" ]; then
    say "keeping $ETC/edge.toml (this version's template: edge.toml.dist)"
  else
    install -m 0644 "$SRC/config/edge.toml" "$ETC/edge.toml"
    say "created $ETC/edge.toml from the template: set node ids, cameras and broker"
  fi
  ln -sfn /opt/classroom-edge/bin/edge "$R/usr/local/bin/edge"
}

case "$ACTION" in
  install|upgrade)
    if [ "$ACTION" = upgrade ] && [ ! -x "$VENV/bin/edge" ]; then
      say "nothing installed under $VENV; run install"; exit 1
    fi
    install_package
    install_files
    if live_systemd; then
      systemctl daemon-reload
      if [ "$ACTION" = install ]; then
        systemctl enable "$UNIT"
        say "enabled $UNIT; edit $ETC/edge.toml, then: systemctl start edge && edge doctor"
      elif systemctl is-active --quiet "$UNIT"; then
        systemctl restart "$UNIT"
      fi
    else
      say "systemd not managed here (root $ROOT): no daemon-reload/enable"
    fi
    say "$ACTION done: $("$VENV/bin/edge" --version)"
    ;;
  uninstall)
    if live_systemd; then
      systemctl disable --now "$UNIT" 2>/dev/null || true
    fi
    rm -f "$UNIT_DIR/$UNIT" "$R/usr/local/bin/edge"
    rm -rf "$VENV"
    if live_systemd; then systemctl daemon-reload; fi
    if [ "$PURGE" = 1 ]; then
      rm -rf "$ETC" "$R/var/lib/classroom-edge" "$R/var/lib/private/classroom-edge"
      say "removed program, unit, config and data"
    else
      say "removed program and unit; kept $ETC and /var/lib/classroom-edge (--purge removes them)"
    fi
    ;;
  *) usage ;;
esac
