#!/usr/bin/env bash
# A real SMTP server for the tests: aiosmtpd (Debian's python3-aiosmtpd) on loopback, storing
# every message it accepts in a maildir. Tests read the codes and links from <dir>/maildir/new/.
#
#   bash scripts/smtp-sink.sh start <dir> [port] [starttls|smtps <cert.pem> <key.pem>]
#                                                  # writes <dir>/env with SMTP_PORT; idempotent
#   bash scripts/smtp-sink.sh stop <dir>           # "the mail server is down" (messages stay)
#
# Stopping then starting again on the same port is how the tests simulate an SMTP outage.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 start <dir> [port] | stop <dir>" >&2; exit 2; }
cmd=$1
dir=$2
python=/usr/bin/python3 # Debian's, where python3-aiosmtpd is installed (not a pyenv one)

port_in_use() { ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }

stop() {
  if [ -f "$dir/smtp.pid" ]; then
    pid=$(cat "$dir/smtp.pid")
    if [ -n "$pid" ] && grep -q aiosmtpd "/proc/$pid/cmdline" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 40); do [ -e "/proc/$pid" ] || break; sleep 0.05; done
    fi
    rm -f "$dir/smtp.pid"
  fi
}

start() {
  mkdir -p "$dir"
  stop
  local port=${1:-} tls=()
  case ${2:-} in
    starttls) tls=(--tlscert "$3" --tlskey "$4") ;;
    smtps) tls=(--smtpscert "$3" --smtpskey "$4") ;;
    "") ;;
    *) echo "unknown TLS mode $2" >&2; exit 2 ;;
  esac
  if [ -z "$port" ]; then
    for _ in $(seq 20); do
      port=$((20000 + RANDOM % 12000))
      port_in_use "$port" || break
    done
  fi
  setsid "$python" -m aiosmtpd -n -l "127.0.0.1:$port" "${tls[@]}" -c aiosmtpd.handlers.Mailbox "$dir/maildir" \
    > "$dir/smtp.log" 2>&1 < /dev/null &
  echo $! > "$dir/smtp.pid"
  for _ in $(seq 100); do
    port_in_use "$port" && break
    sleep 0.05
  done
  port_in_use "$port" || { cat "$dir/smtp.log" >&2; exit 1; }
  echo "SMTP_PORT=$port" > "$dir/env"
  echo "SMTP sink on 127.0.0.1:$port, messages in $dir/maildir/new"
}

case $cmd in
  start) start "${3:-}" "${4:-}" "${5:-}" "${6:-}" ;;
  stop) stop ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
