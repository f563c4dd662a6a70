#!/usr/bin/env bash
# mosquitto and its clients from Debian's packages (2.0.11 on bookworm).
source "$(dirname "$0")/common.sh"
if command -v mosquitto >/dev/null 2>&1 || [[ -x /usr/sbin/mosquitto ]]; then
  if command -v mosquitto_pub >/dev/null 2>&1; then
    log "mosquitto: installed ($(/usr/sbin/mosquitto -h 2>/dev/null | head -1))"; exit 0
  fi
fi
to_build mosquitto 10 || exit 0
if [[ "$(id -u)" != 0 ]]; then
  log "mosquitto is missing and installing it needs root: run 'sudo apt-get install -y mosquitto mosquitto-clients' (or run make tools as root)"
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq mosquitto mosquitto-clients >/dev/null
# No init system here: make sure the packaged service is not left running on 1883.
pkill -x mosquitto 2>/dev/null || true
log "mosquitto: installed"
