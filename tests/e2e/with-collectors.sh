#!/usr/bin/env bash
# Runs a command with fresh local collectors (honch-collector on 127.0.0.1), one per setup
# in collectors.json, and tells it where they are:
#   HONCH_COLLECTORS="name=port=events.jsonl;..."  HONCH_API_KEY=e2e-key
#   HONCH_TEST_CA=<test CA, PEM>  HONCH_TEST_CA_DER=<the same, DER>
# Each setup is a fault script the collector applies to its first requests. Setups named
# tls_* serve HTTPS with certificates made now by tests/tls/make-certs.sh (tls_ok: a leaf
# of the test CA; tls_expired, tls_wrong_host, tls_self_signed: bad leaves; tls_stall: the
# good leaf behind a handshake that never completes). The collectors stop with the command.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
collector=${HONCH_COLLECTOR_BIN:?set HONCH_COLLECTOR_BIN to the honch-collector binary}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

export HONCH_API_KEY=e2e-key
"$here/../tls/make-certs.sh" "$work/certs"
export HONCH_TEST_CA=$work/certs/ca.pem HONCH_TEST_CA_DER=$work/certs/ca.der
list=""
names=$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))))' "$here/collectors.json")
for name in $names; do
  python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1]))[sys.argv[2]], open(sys.argv[3], "w"))' \
    "$here/collectors.json" "$name" "$work/$name.script.json"
  : > "$work/$name.jsonl"
  tls=()
  case $name in
    tls_ok|tls_stall) tls=(--tls-cert "$work/certs/leaf.pem" --tls-key "$work/certs/leaf.key") ;;
    tls_expired) tls=(--tls-cert "$work/certs/expired.pem" --tls-key "$work/certs/expired.key") ;;
    tls_wrong_host) tls=(--tls-cert "$work/certs/wrong-host.pem" --tls-key "$work/certs/wrong-host.key") ;;
    tls_self_signed) tls=(--tls-cert "$work/certs/self-signed.pem" --tls-key "$work/certs/self-signed.key") ;;
  esac
  "$collector" --port 0 --api-key "$HONCH_API_KEY" --script "$work/$name.script.json" \
    --out "$work/$name.jsonl" "${tls[@]}" > "$work/$name.stdout" 2> "$work/$name.stderr" &
  pids+=($!)
  for _ in $(seq 100); do
    grep -q "listening on" "$work/$name.stdout" 2>/dev/null && break
    sleep 0.05
  done
  port=$(sed -n 's/^honch-collector listening on https*:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$work/$name.stdout")
  [ -n "$port" ] || { echo "collector $name did not start" >&2; cat "$work/$name.stderr" >&2; exit 1; }
  list="$list$name=$port=$work/$name.jsonl;"
done
export HONCH_COLLECTORS=$list
"$@"
