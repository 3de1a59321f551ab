#!/usr/bin/env bash
# The whole test suite, as the README and CI run it (`npm test`). Installs the Debian packages
# the integration tests start (as root, with apt-get update first) when a fresh machine lacks them,
# then runs vitest and ends with the line "N passed, N failed" from vitest's JSON report.
set -uo pipefail
cd "$(dirname "$0")/.."

# package:binary the tests need
required="snmpd:/usr/sbin/snmpd snmp:/usr/bin/snmpget snmpsim:/usr/bin/snmpsimd victoria-metrics:/usr/bin/victoria-metrics influxdb:/usr/bin/influxd
  mosquitto:/usr/sbin/mosquitto mosquitto-clients:/usr/bin/mosquitto_pub fping:/usr/bin/fping nftables:/usr/sbin/nft iproute2:/usr/sbin/ip util-linux:/usr/sbin/runuser
  postgresql:/usr/lib/postgresql/15/bin/postgres openssl:/usr/bin/openssl chromium:/usr/bin/chromium"
missing=()
for pair in $required; do
  [ -x "${pair#*:}" ] || missing+=("${pair%%:*}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "tests need Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "installing Debian packages: ${missing[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null || exit 1
fi

mkdir -p .test-artifacts
report=.test-artifacts/vitest.json
rm -f "$report"
vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
status=$?
if [ -f "$report" ]; then
  node -e '
    const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
    const skipped = r.numPendingTests + r.numTodoTests;
    console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
  ' "$report"
else
  echo "0 passed, 1 failed"
  [ $status -eq 0 ] && status=1
fi
exit $status
