#!/usr/bin/env bash
# One-time setup for CI (or a new dev machine, Debian): installs what is missing via apt
# (kcat, Java >= 17, Maven, openssl, iproute2 for `ss`), checks the versions, then fetches the Kafka jars.
# Idempotent; when everything is there it only checks and exits in well under a second.
#
#   bash deploy/local-kafka/ci-setup.sh
#
# Typical .ci/run:
#   bash deploy/local-kafka/ci-setup.sh
#   trap 'deploy/local-kafka/kafka.sh stop' EXIT
#   deploy/local-kafka/kafka.sh start plain
#   WIRETAG_TEST_BROKERS=127.0.0.1:19092 go test ./...
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
say() { printf 'ci-setup: %s\n' "$*" >&2; }
die() { printf 'ci-setup: ERROR: %s\n' "$*" >&2; exit 1; }

missing=()
command -v kcat >/dev/null || missing+=(kcat)
command -v java >/dev/null || missing+=(default-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v openssl >/dev/null || missing+=(openssl)
command -v ss >/dev/null || missing+=(iproute2)
command -v timeout >/dev/null || missing+=(coreutils)

if ((${#missing[@]})); then
  command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install them"
  SUDO=()
  if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null || die "missing ${missing[*]}; need root or sudo for apt-get"
    SUDO=(sudo)
  fi
  say "installing: ${missing[*]}"
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Java >= 17 (Kafka 4.x brokers need 17)
jv=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
[[ ${jv%%.*} =~ ^[0-9]+$ && ${jv%%.*} -ge 17 ]] || die "Java >= 17 needed, found '${jv:-?}' ($(command -v java))"
mvn -v >/dev/null 2>&1 || die "mvn does not run"
say "java $jv, $(mvn -v 2>/dev/null | head -1 | sed 's/\x1b\[[0-9;]*m//g'), $(kcat -V 2>/dev/null | sed -n 's/^Version \([^ ]*\) .*librdkafka \([^ ]*\).*/kcat \1 (librdkafka \2)/p')"

"$HERE/kafka.sh" fetch
