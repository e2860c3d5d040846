#!/bin/sh
# Installs the Debian packages scalewise needs to build, test, run or bench,
# and only those that are missing. Usage: scripts/deps.sh build|test|bench
set -eu
build="gcc make pkg-config libmicrohttpd-dev libcurl4-openssl-dev libcjson-dev libyaml-dev libssl-dev libgnutls28-dev libhiredis-dev libpq-dev"
test="$build libcmocka-dev curl kubectl openssl python3 prometheus tzdata rabbitmq-server nats-server redis-server postgresql util-linux"
bench="$test wrk nginx-light"
fuzz="$build clang libclang-rt-14-dev"
case "${1:-build}" in
  build) want=$build ;;
  test) want=$test ;;
  bench) want=$bench ;;
  fuzz) want=$fuzz ;;
  *) echo "usage: $0 build|test|bench|fuzz" >&2; exit 2 ;;
esac
missing=""
for p in $want; do
  if [ "$p" = kubectl ]; then
    command -v kubectl >/dev/null 2>&1 && continue
  fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages:$missing (run as root, or apt-get install them)" >&2
  exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
