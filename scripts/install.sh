#!/bin/sh
# Installs ship from its packed tarball (`npm pack` → ship-X.Y.Z.tgz) on a fresh Linux machine, as
# root: the package (dashboard included) under $SHIP_PREFIX, `ship` and `ship-hub` on the PATH,
# the service users, the state directories, example configs (never overwriting yours) and the
# systemd units. Run it again to upgrade. Variables (for tests and other layouts): SHIP_PREFIX
# (/opt/ship), SHIP_BIN_DIR (/usr/local/bin), SHIP_ETC (/etc/ship), SHIP_STATE (/var/lib),
# SHIP_UNIT_DIR (/etc/systemd/system), SHIP_NO_USERS=1 (skip useradd/chown: not root).
set -eu

# As root: it creates the users ship and ship-hub and writes the units. Run as another user it
# failed in npm's EACCES pages (exit 243) or in useradd, after writing part of the install.
if [ "${SHIP_NO_USERS:-0}" != 1 ] && [ "$(id -u)" != 0 ]; then
  echo "install.sh: run it as root (it creates the users ship and ship-hub and writes the systemd units); without root: SHIP_NO_USERS=1 and SHIP_PREFIX, SHIP_BIN_DIR, SHIP_ETC, SHIP_STATE, SHIP_UNIT_DIR in directories you can write" >&2
  exit 2
fi

tarball=${1:-}
if [ -z "$tarball" ] || [ ! -f "$tarball" ]; then
  echo "usage: install.sh ship-X.Y.Z.tgz   (make it with: npm ci && npm run build && npm pack)" >&2
  exit 2
fi
prefix=${SHIP_PREFIX:-/opt/ship}
bin_dir=${SHIP_BIN_DIR:-/usr/local/bin}
etc=${SHIP_ETC:-/etc/ship}
state=${SHIP_STATE:-/var/lib}
unit_dir=${SHIP_UNIT_DIR:-/etc/systemd/system}

# npm links the bins (executable, with their #!/usr/bin/env node) into $prefix/bin.
# Install scripts are allowed by name: better-sqlite3 builds its native module (required); ssh2 and
# cpu-features build optional native speedups for SFTP (ssh2 falls back to JavaScript when that
# build fails). npm 11 ran the last two anyway and warned "install scripts not yet covered by
# allowScripts" at every install; npm 12 skips any script not named here.
npm install --global --prefix "$prefix" --omit=dev --no-audit --no-fund \
  --allow-scripts=better-sqlite3,ssh2,cpu-features "$tarball"
pkg="$prefix/lib/node_modules/ship"
mkdir -p "$bin_dir"
ln -sf "$prefix/bin/ship" "$bin_dir/ship"
ln -sf "$prefix/bin/ship-hub" "$bin_dir/ship-hub"

if [ "${SHIP_NO_USERS:-0}" != 1 ]; then
  id ship >/dev/null 2>&1 || useradd --system --shell /usr/sbin/nologin --home-dir "$state/ship" ship
  id ship-hub >/dev/null 2>&1 || useradd --system --shell /usr/sbin/nologin --home-dir "$state/ship-hub" ship-hub
fi
mkdir -p "$etc" "$state/ship/backups" "$state/ship-hub"
# The examples, the units and the messages below name the default layout (/etc/ship, /var/lib/ship,
# /var/lib/ship-hub); with SHIP_ETC or SHIP_STATE set they must name the directories made here, or
# every unit would start ship with a config and state directory that do not exist.
# Each default path becomes a marker first and the marker the real path after, so a path put in is
# never rewritten again (SHIP_ETC=/opt/ship/etc must not turn into the package's /opt/ship/ below).
layout() {
  sed -e "s#/etc/ship/#@SHIP_ETC@/#g" -e "s#/var/lib/ship#@SHIP_STATE@/ship#g" "$@" |
    sed -e "s#@SHIP_ETC@#$etc#g" -e "s#@SHIP_STATE@#$state#g"
}
if [ ! -e "$etc/ship.toml" ]; then layout "$pkg/examples/ship.toml" >"$etc/ship.toml.new" && chmod 600 "$etc/ship.toml.new" && mv "$etc/ship.toml.new" "$etc/ship.toml" && made_ship_toml=1; fi
if [ ! -e "$etc/hub.toml" ]; then layout "$pkg/examples/hub.toml" >"$etc/hub.toml.new" && chmod 644 "$etc/hub.toml.new" && mv "$etc/hub.toml.new" "$etc/hub.toml"; fi
if [ "${SHIP_NO_USERS:-0}" != 1 ]; then
  # The units run ship as user ship, which could not read a root-owned 600 ship.toml: the README's
  # first check (runuser -u ship -- ship --check-only) and every service start were exit 2
  # "permission denied". Only a file made here is handed over; a config of yours is left as it is.
  if [ "${made_ship_toml:-0}" = 1 ]; then chown ship:ship "$etc/ship.toml"; fi
  chown -R ship:ship "$state/ship"
  chown -R ship-hub:ship-hub "$state/ship-hub"
  chmod 700 "$state/ship-hub"
  # ship runs as user ship; git refuses repositories owned by another user ("dubious ownership")
  # unless told they are trusted. Only the clones named in ship.toml are: list them here.
  git config --system --get-all safe.directory 2>/dev/null | grep -qx '\*' ||
    echo "note: if a git source's local_path is not owned by user ship, run: git config --system --add safe.directory <local_path>"
fi
mkdir -p "$unit_dir"
if [ -f "$unit_dir/ship-hub.service" ]; then upgrading=1; fi
# The units name /usr/bin/node (Debian's and NodeSource's); a node installed elsewhere (the official
# tarball in /usr/local/bin) would fail every start with 203/EXEC, so they name the node npm used.
node=$(command -v node)
for unit in ship.service ship.timer ship-agent.service ship-hub.service; do
  sed -e "s#/opt/ship/#@SHIP_PKG@/#g" -e "s#^WorkingDirectory=/opt/ship\$#WorkingDirectory=@SHIP_PREFIX@#" \
    -e "s#^ExecStart=/usr/bin/node #ExecStart=@SHIP_NODE@ #" "$pkg/systemd/$unit" | layout |
    sed -e "s#@SHIP_PKG@#$pkg#g" -e "s#@SHIP_PREFIX@#$prefix#g" -e "s#@SHIP_NODE@#$node#g" >"$unit_dir/$unit.new"
  # An upgrade keeps the ReadWritePaths= lines of the unit it replaces: the README has the operator
  # list their app directories there, and rewriting the unit put back /opt/myapp, so every run after
  # the upgrade found the apps read-only (or the unit failed on a missing /opt/myapp).
  if [ -f "$unit_dir/$unit" ] && grep -q '^ReadWritePaths=' "$unit_dir/$unit"; then
    grep '^ReadWritePaths=' "$unit_dir/$unit" >"$unit_dir/$unit.paths"
    # A unit from before the host's app locks (/run/lock/ship) lacks their line, and every run under
    # ProtectSystem=strict would find /run read-only: the new unit's line is added to the kept ones.
    if ! grep -q '/run/lock' "$unit_dir/$unit.paths"; then
      grep '^ReadWritePaths=.*/run/lock' "$unit_dir/$unit.new" >>"$unit_dir/$unit.paths" || true
    fi
    awk 'NR == FNR { kept = kept $0 "\n"; next }
      /^ReadWritePaths=/ { if (!done) printf "%s", kept; done = 1; next }
      { print }' "$unit_dir/$unit.paths" "$unit_dir/$unit.new" >"$unit_dir/$unit.kept"
    mv "$unit_dir/$unit.kept" "$unit_dir/$unit.new"
    rm -f "$unit_dir/$unit.paths"
  fi
  mv "$unit_dir/$unit.new" "$unit_dir/$unit"
done
command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ] && systemctl daemon-reload || true
echo "installed ship $("$prefix/bin/ship" --version) in $pkg; ship and ship-hub in $bin_dir"
echo "next: edit $etc/ship.toml (and ReadWritePaths= in $unit_dir/ship*.service), then see README: Install"
# A running hub keeps its old code but serves the new dashboard's files from disk: say so on an upgrade.
if [ "${upgrading:-0}" = 1 ]; then
  echo "upgraded: restart a running hub (systemctl restart ship-hub); ship agent restarts by itself"
fi
