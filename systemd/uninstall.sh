#!/usr/bin/env bash
# Remove the evse-agent service installed by systemd/install.sh.
#
#   sudo systemd/uninstall.sh             stop and disable the service, remove the unit and
#                                         /opt/evse-agent; keep /etc/evse-agent (config) and
#                                         /var/lib/evse-agent (state)
#   sudo systemd/uninstall.sh --purge     also remove /etc/evse-agent and /var/lib/evse-agent
#   systemd/uninstall.sh --root DIR       the same under DIR (ROOT=DIR / DESTDIR=DIR work too),
#                                         without systemctl
#
# The system user evse-agent and the groups are kept (files elsewhere may still be owned by
# them); remove the user by hand with: userdel evse-agent
set -euo pipefail

say()  { printf '==> %s\n' "$*"; }
die()  { printf 'ERROR: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

SERVICE=evse-agent
ROOT="${ROOT:-${DESTDIR:-}}"
purge=false
while (($#)); do
  case "$1" in
    --purge) purge=true; shift ;;
    --root|--destdir) (($# >= 2)) || die "$1 needs a directory"; ROOT="$2"; shift 2 ;;
    --root=*|--destdir=*) ROOT="${1#*=}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

staged=false
if [[ -n "$ROOT" ]]; then
  [[ -d "$ROOT" ]] || die "ROOT $ROOT is not a directory"
  ROOT="$(cd "$ROOT" && pwd)"
  if [[ "$ROOT" == / ]]; then ROOT=""; else staged=true; fi
fi
if ! $staged && (($(id -u) != 0)); then
  die "run as root (sudo $0), or work under a directory with ROOT=DIR / --root DIR"
fi

UNIT_DIR="$ROOT/etc/systemd/system"

remove() {  # remove PATH... (recursively), saying what went
  local p
  for p in "$@"; do
    if [[ -e "$p" || -L "$p" ]]; then say "removing ${p#"$ROOT"}"; rm -rf -- "$p"; fi
  done
}

if $staged; then
  say "working under $ROOT: would run: systemctl disable --now $SERVICE"
elif [[ -d /run/systemd/system ]]; then
  say "stopping and disabling $SERVICE"
  systemctl disable --now "$SERVICE" 2>/dev/null || true
elif command -v systemctl >/dev/null; then
  say "systemd is not running: disabling $SERVICE offline"
  systemctl disable "$SERVICE" 2>/dev/null || true
fi

# The unit and the symlink `enable` made (in case disable could not remove it).
remove "$UNIT_DIR/$SERVICE.service" "$UNIT_DIR/$SERVICE.service.d" "$UNIT_DIR/multi-user.target.wants/$SERVICE.service"
remove "$ROOT/opt/evse-agent"

if $purge; then
  remove "$ROOT/etc/evse-agent" "$ROOT/var/lib/evse-agent"
else
  say "kept ${ROOT}/etc/evse-agent and ${ROOT}/var/lib/evse-agent (remove them with --purge)"
fi

if ! $staged && [[ -d /run/systemd/system ]]; then
  systemctl daemon-reload
  systemctl reset-failed "$SERVICE" 2>/dev/null || true
fi
say "done (user evse-agent kept; remove it with: userdel evse-agent)"
