#!/bin/sh
# An agent container: write ship.toml for this agent, install the sample app v1 on first start
# (timer-mode run from the local source), then run the daemon in the foreground.
set -eu
: "${AGENT_ID:?set AGENT_ID}"
labels="${AGENT_LABELS:-}"
mkdir -p /etc/ship /srv/sample /var/lib/ship
# HUB_URL: where the hub is (the cluster profile's agents talk to its proxy).
sed -e "s/@AGENT_ID@/${AGENT_ID}/g" -e "s/@AGENT_LABELS@/${labels}/g" \
  -e "s#http://hub:8080#${HUB_URL:-http://hub:8080}#" \
  /opt/ship/docker/agent/ship.toml > /etc/ship/ship.toml
ship="node /opt/ship/dist/agent/cli/main.cjs"
if [ ! -f /var/lib/ship/.ship_state.json ]; then
  $ship --config /etc/ship/ship.toml --force
fi
exec $ship agent --config /etc/ship/ship.toml
