#!/usr/bin/env bash
# README command (a): installs what is needed, builds, and replays the bundled capture of a
# guest-to-guest attack through the bundled rules on the embedded default configuration,
# then prints the alerts.
set -euo pipefail
cd "$(dirname "$0")/../.." || exit 2
bash packaging/scripts/install-deps.sh
bash packaging/scripts/build.sh release >/dev/null

out="${EASTWATCH_DEMO_OUT:-$(mktemp -d /tmp/eastwatch-demo.XXXXXX)}"
mkdir -p "$out"
rm -f "$out"/eve.json "$out"/fast.log "$out"/stats.log
echo "== eastwatch -r tests/pcaps/guest-to-guest-attack.pcap --set default-rule-path=signatures/rules -l $out"
./build/sensor/main/eastwatch -r tests/pcaps/guest-to-guest-attack.pcap --set default-rule-path=signatures/rules \
  -l "$out" --set sensor.name=esx-01-sensor
echo
/usr/bin/python3 - "$out/eve.json" <<'PY'
import json, sys
rows = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["event_type"] != "alert":
        continue
    src = r["src_ip"] + (f":{r['src_port']}" if "src_port" in r else "")
    dst = r["dest_ip"] + (f":{r['dest_port']}" if "dest_port" in r else "")
    rows.append((r["timestamp"][11:23], str(r["alert"]["signature_id"]), r["alert"]["signature"], f"{src} -> {dst}"))
print(f"{len(rows)} alerts:")
for t, sid, msg, path in rows:
    print(f"  {t}  {sid:>8}  {msg[:62]:<62}  {path}")
PY
echo
echo "EVE JSON: $out/eve.json   fast.log: $out/fast.log   stats: $out/stats.log"
