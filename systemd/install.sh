#!/usr/bin/env bash
# Install evse-agent from this checkout as a systemd service (Raspberry Pi OS / Debian 12).
#
#   sudo systemd/install.sh                 install or upgrade, then enable and (re)start
#   sudo systemd/install.sh --service-page  the same, with the service page on (0.0.0.0:8443; or
#                                           --service-page=HOST:PORT): commissioning from a browser
#   systemd/install.sh --root /tmp/stage    stage the file tree under /tmp/stage only
#
# What it does, each step skipped when already done (safe to run again, e.g. after a git pull):
#   1. apt-get install the Debian packages the build and pcscd need
#   2. system groups gpio and i2c (and dialout) if missing; system user evse-agent
#      (no login, home /var/lib/evse-agent) in groups dialout, gpio, i2c
#   3. /opt/evse-agent/releases/<version>, a venv with this checkout pip-installed into it (not
#      editable), /opt/evse-agent/current pointing at it, and /opt/evse-agent/release-check;
#      /opt/evse-agent owned by evse-agent, so that a firmware update can install the next
#      release (evse-agent install-release, agent/maintenance/self_update.py)
#   4. /etc/evse-agent/agent.toml from config/agent.example.toml, only if absent
#      (root:evse-agent 0640; an existing config is never touched), and the firmware trust
#      anchors: every config/manufacturer-roots/*.pem into /etc/evse-agent/manufacturer-roots/
#      (root-owned, 0644; roots already there are kept: a key rotation adds the new one first)
#   5. /var/lib/evse-agent (evse-agent:evse-agent 0700)
#   6. /etc/systemd/system/evse-agent.service
#   7. evse-agent check-config, then systemctl daemon-reload and enable --now
#   With --service-page (kept on by later runs once given): [service_page] listen in a new
#   config, /etc/evse-agent made root:evse-agent 0770 and the drop-in
#   evse-agent.service.d/service-page.conf (ReadWritePaths=/etc/evse-agent), so the page can
#   write the configuration; then the installer's password (asked for on a terminal, or taken
#   from SERVICE_PAGE_PASSWORD) and the page's address and certificate fingerprint.
#
# Environment:
#   ROOT=DIR (or DESTDIR=DIR, or --root DIR)  write everything under DIR instead of /, for tests
#       and staging. Does not run apt-get, groupadd/useradd/usermod, chown or systemctl: it
#       prints what it would do. Scripts in the staged venv point at
#       DIR/opt/evse-agent/releases/<version>, so it is for checking, not for copying elsewhere.
#   PYTHON=PATH               interpreter for the venv (default /usr/bin/python3, Debian's:
#       the service cannot read a pyenv under /root, ProtectHome=yes hides it)
#   EVSE_AGENT_SKIP_VENV=1    skip step 3 (and so the check-config of step 7)
#   MANUFACTURER_ROOTS=DIR    where the manufacturer root certificates (*.pem) of step 4 come
#       from (default: config/manufacturer-roots of this checkout)
#   SERVICE_PAGE_PASSWORD=... the service page's installer password, when there is no terminal
set -euo pipefail
umask 022   # the venv and the unit must be readable by the service user whatever root's umask

say()  { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die()  { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

ROOT="${ROOT:-${DESTDIR:-}}"
SERVICE_PAGE=""
while (($#)); do
  case "$1" in
    --service-page) SERVICE_PAGE="0.0.0.0:8443"; shift ;;
    --service-page=*) SERVICE_PAGE="${1#*=}"; shift ;;
    --root|--destdir) (($# >= 2)) || die "$1 needs a directory"; ROOT="$2"; shift 2 ;;
    --root=*|--destdir=*) ROOT="${1#*=}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

SERVICE=evse-agent
SERVICE_USER=evse-agent
GROUPS_WANTED=(dialout gpio i2c)   # must match SupplementaryGroups= in the unit
DEBIAN_PACKAGES=(python3-venv python3-dev swig libpcsclite-dev pcscd gcc)

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
for f in pyproject.toml setup.cfg config/agent.example.toml systemd/evse-agent.service; do
  [[ -f "$SRC/$f" ]] || die "$SRC/$f missing: run this script from an evse-agent checkout"
done

staged=false
if [[ -n "$ROOT" ]]; then
  staged=true
  mkdir -p "$ROOT"
  ROOT="$(cd "$ROOT" && pwd)"
  [[ "$ROOT" != / ]] || { ROOT=""; staged=false; }
fi
if ! $staged && (($(id -u) != 0)); then
  die "run as root (sudo $0), or stage under a directory with ROOT=DIR / --root DIR"
fi

OPT="$ROOT/opt/evse-agent"
VERSION="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$SRC/agent/__init__.py")"
[[ -n "$VERSION" ]] || die "$SRC/agent/__init__.py names no __version__"
VENV="$OPT/releases/$VERSION"
CURRENT="$OPT/current"
ETC="$ROOT/etc/evse-agent"
CONFIG="$ETC/agent.toml"
STATE="$ROOT/var/lib/evse-agent"
UNIT_DIR="$ROOT/etc/systemd/system"
UNIT="$UNIT_DIR/$SERVICE.service"
DROPIN="$UNIT_DIR/$SERVICE.service.d/service-page.conf"
# The page stays on once installed with it: an upgrade without the option keeps it.
if [[ -z "$SERVICE_PAGE" && -e "$DROPIN" ]]; then SERVICE_PAGE=kept; fi

if $staged; then say "staging under $ROOT (no apt-get, no user changes, no chown, no systemctl)"; fi

# 1. Debian packages -------------------------------------------------------------------------
say "Debian packages: ${DEBIAN_PACKAGES[*]}"
if $staged; then
  note "would run: apt-get install -y ${DEBIAN_PACKAGES[*]} (for those not installed)"
else
  missing=()
  for p in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    note "installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    note "all installed"
  fi
fi

# 2. Groups and the service user -------------------------------------------------------------
say "system user $SERVICE_USER in groups ${GROUPS_WANTED[*]}"
if $staged; then
  for g in "${GROUPS_WANTED[@]}"; do note "would run: groupadd --system $g (if missing)"; done
  note "would run: useradd --system --user-group --home-dir /var/lib/evse-agent --no-create-home" \
       "--shell /usr/sbin/nologin $SERVICE_USER (if missing)"
  note "would run: usermod --append --groups $(IFS=,; echo "${GROUPS_WANTED[*]}") $SERVICE_USER"
else
  for g in "${GROUPS_WANTED[@]}"; do
    if ! getent group "$g" >/dev/null; then
      # gpio and i2c come with Raspberry Pi OS; plain Debian lacks them. The unit's
      # SupplementaryGroups= needs all three to exist or the service does not start.
      note "creating missing group $g"
      groupadd --system "$g"
    fi
  done
  if getent passwd "$SERVICE_USER" >/dev/null; then
    note "user $SERVICE_USER exists"
  else
    note "creating user $SERVICE_USER"
    if getent group "$SERVICE_USER" >/dev/null; then group_opt=(--gid "$SERVICE_USER"); else group_opt=(--user-group); fi
    useradd --system "${group_opt[@]}" --home-dir /var/lib/evse-agent --no-create-home \
      --shell /usr/sbin/nologin --comment "evse-agent OCPP charge point agent" "$SERVICE_USER"
  fi
  usermod --append --groups "$(IFS=,; echo "${GROUPS_WANTED[*]}")" "$SERVICE_USER"
fi

# own OWNER PATH: chown, or say it would under ROOT (the user need not exist on this machine)
own() {
  if $staged; then note "would run: chown $1 ${2#"$ROOT"}"; else chown "$1" "$2"; fi
}
own_tree() {
  if $staged; then note "would run: chown -R $1 ${2#"$ROOT"}"; else chown -R "$1" "$2"; fi
}

# 3. The release ------------------------------------------------------------------------------
install -d -m 0755 "$OPT" "$OPT/releases"
if [[ "${EVSE_AGENT_SKIP_VENV:-0}" == 1 ]]; then
  say "venv: skipped (EVSE_AGENT_SKIP_VENV=1)"
else
  if [[ -z "${PYTHON:-}" ]]; then
    PYTHON=/usr/bin/python3
    if $staged && ! "$PYTHON" -c 'import ensurepip' 2>/dev/null; then PYTHON="$(command -v python3)"; fi
  fi
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "$PYTHON is older than 3.11 (evse-agent needs >= 3.11)"
  if "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
    say "venv: $VENV exists"
  else
    say "venv: creating $VENV with $PYTHON"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  # Build from a copy: a root-owned build/ and *.egg-info in the checkout are not wanted. Only
  # what the package is built from (setup.cfg: its packages, README.md as its description), so
  # nothing else written in the checkout meanwhile (a test run, an editor) can disturb the copy.
  build="$(mktemp -d)"
  trap 'rm -rf "$build"' EXIT
  tar -C "$SRC" --exclude='*.egg-info' --exclude=__pycache__ \
      -cf - agent drivers simulator setup.cfg pyproject.toml README.md | tar -C "$build" -xf -
  say "venv: pip install $SRC (not editable)"
  PIP_ROOT_USER_ACTION=ignore "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-input "$build"
  [[ -x "$VENV/bin/evse-agent" ]] || die "$VENV/bin/evse-agent missing after pip install"
  # The operator's install is the confirmed release: no rollback pending from a firmware update.
  say "release: ${CURRENT#"$ROOT"} -> releases/$VERSION"
  ln -sfn "releases/$VERSION" "$OPT/.current.new"
  mv -T "$OPT/.current.new" "$CURRENT"
  rm -f "$OPT/pending.json" "$OPT/rolled-back.json"
  if [[ -d "$OPT/venv" ]]; then note "removing the old layout's ${OPT#"$ROOT"}/venv"; rm -rf "$OPT/venv"; fi
fi
install -m 0755 "$SRC/agent/maintenance/self_update.py" "$OPT/release-check"
if [[ -f "$SRC/README.md" ]]; then install -m 0644 "$SRC/README.md" "$OPT/README.md"; fi
own_tree "$SERVICE_USER:$SERVICE_USER" "$OPT"

# 4. Configuration ---------------------------------------------------------------------------
# With the service page the service replaces agent.toml itself (a new file, then a rename):
# it needs to write the directory, not only the file.
if [[ -n "$SERVICE_PAGE" ]]; then install -d -m 0770 "$ETC"; chmod 0770 "$ETC"; else install -d -m 0750 "$ETC"; fi
own "root:$SERVICE_USER" "$ETC"
if [[ -e "$CONFIG" ]]; then
  say "config: keeping existing ${CONFIG#"$ROOT"}"
  if [[ -n "$SERVICE_PAGE" && "$SERVICE_PAGE" != kept ]] && ! grep -q '^\[service_page\]' "$CONFIG"; then
    note "it has no [service_page]: add  [service_page] listen = \"$SERVICE_PAGE\"  to turn the page on"
  fi
else
  say "config: ${CONFIG#"$ROOT"} from config/agent.example.toml: edit it (charge point id, backend URL)"
  install -m 0640 "$SRC/config/agent.example.toml" "$CONFIG"
  if [[ -n "$SERVICE_PAGE" && "$SERVICE_PAGE" != kept ]]; then
    note "service page on: [service_page] listen = \"$SERVICE_PAGE\" (the rest can be set from the page)"
    printf '\n[service_page]\nlisten = "%s"\n' "$SERVICE_PAGE" >>"$CONFIG"
  fi
  own "root:$SERVICE_USER" "$CONFIG"
fi

# The firmware trust anchors ([firmware] manufacturer_roots): from the installation, never
# from the backend. Only root writes here; the service reads them (the directory's parent is
# root:evse-agent 0750).
ROOTS_SRC="${MANUFACTURER_ROOTS:-$SRC/config/manufacturer-roots}"
ROOTS_DIR="$ETC/manufacturer-roots"
install -d -m 0755 "$ROOTS_DIR"
shopt -s nullglob
roots=("$ROOTS_SRC"/*.pem)
shopt -u nullglob
if ((${#roots[@]})); then
  say "firmware trust anchors: ${roots[*]##*/} -> ${ROOTS_DIR#"$ROOT"}/"
  install -m 0644 "${roots[@]}" "$ROOTS_DIR/"
else
  say "firmware trust anchors: none in $ROOTS_SRC (SignedUpdateFirmware is refused until one is in ${ROOTS_DIR#"$ROOT"})"
fi

# 5. State directory -------------------------------------------------------------------------
say "state: ${STATE#"$ROOT"}"
install -d -m 0700 "$STATE"
own "$SERVICE_USER:$SERVICE_USER" "$STATE"

# 6. The unit --------------------------------------------------------------------------------
say "unit: ${UNIT#"$ROOT"}"
install -d -m 0755 "$UNIT_DIR"
install -m 0644 "$SRC/systemd/evse-agent.service" "$UNIT"
if [[ -n "$SERVICE_PAGE" ]]; then
  say "unit: ${DROPIN#"$ROOT"} (the service page writes ${CONFIG#"$ROOT"})"
  install -d -m 0755 "${DROPIN%/*}"
  install -m 0644 "$SRC/systemd/service-page.conf" "$DROPIN"
fi

# 7. Check the config, enable and start --------------------------------------------------------
if [[ -x "$CURRENT/bin/evse-agent" ]]; then
  say "check-config"
  check=("$CURRENT/bin/evse-agent" check-config --config "$CONFIG")
  # As the service user, which also checks that it can read the file.
  if ! $staged && command -v runuser >/dev/null; then check=(runuser -u "$SERVICE_USER" -- "${check[@]}"); fi
  if ! "${check[@]}"; then
    die "${CONFIG#"$ROOT"} does not pass check-config: fix it, then run this script again"
  fi
else
  say "check-config: skipped (no venv)"
fi

# The service page's installer password: there is none by default.
if [[ -n "$SERVICE_PAGE" ]]; then
  password=("$CURRENT/bin/evse-agent" service-password --config "$CONFIG" --role installer)
  $staged && password+=(--data-dir "$STATE")
  if [[ ! -x "$CURRENT/bin/evse-agent" ]]; then
    say "service page: password not set (no venv)"
  elif [[ -s "$STATE/service-page/passwords.json" ]]; then
    say "service page: a password is set already (change it: ${password[*]#"$ROOT"})"
  elif [[ -n "${SERVICE_PAGE_PASSWORD:-}" ]]; then
    say "service page: the installer password from SERVICE_PAGE_PASSWORD"
    printf '%s\n' "$SERVICE_PAGE_PASSWORD" | "${password[@]}" --password-stdin
  elif [[ -t 0 ]]; then
    say "service page: choose the installer's password (at least 10 characters)"
    "${password[@]}"
  else
    say "service page: no password yet: nobody can log in until you run"
    note "sudo ${password[*]#"$ROOT"}"
  fi
fi

if $staged; then
  say "systemd: would run: systemctl daemon-reload && systemctl enable --now $SERVICE"
elif [[ -d /run/systemd/system ]]; then
  was_active=false
  systemctl is-active --quiet "$SERVICE" && was_active=true
  say "systemd: daemon-reload, enable --now $SERVICE"
  systemctl daemon-reload
  systemctl enable --now "$SERVICE"
  if $was_active; then
    say "systemd: restarting $SERVICE to run the new version"
    systemctl restart "$SERVICE"
  fi
  note "status: systemctl status $SERVICE    logs: journalctl -u $SERVICE -f"
else
  say "systemd is not running here (container or chroot?): the service was not started."
  note "On the booted system run: systemctl daemon-reload && systemctl enable --now $SERVICE"
fi
say "done"
