#!/usr/bin/env bash
# Card lab: a private pcscd with the vpcd virtual reader driver, so the card tests never touch (nor
# need) the system's pcscd. Used by the agent's integration tests, scripts/test.sh and Playwright.
#
#   bash scripts/card-lab.sh start <dir>   # starts pcscd, waits until its readers exist, writes <dir>/env
#   set -a; source <dir>/env; set +a       # PCSCLITE_CSOCK_NAME, VPCD_PORT, CARD_LAB_READER
#   passerelle-agent --origin http://127.0.0.1:3000 &  # any PC/SC client, with that environment
#   bash scripts/card-lab.sh insert <dir> <cert.der> <key.pkcs8.der> <pin> [tries]
#                                          # a virtual card in reader $CARD_LAB_READER (returns once
#                                          # pcscd has it; needs `cargo build -p testkit --bins`)
#   bash scripts/card-lab.sh remove <dir>  # pulls it out (idempotent)
#   bash scripts/card-lab.sh stop <dir>    # removes the card, stops pcscd (idempotent)
#
# `insert` runs target/debug/passerelle-virtual-card (or $PASSERELLE_VIRTUAL_CARD), which can also
# be run directly: --port "$VPCD_PORT" --cert … --key … --pin …; killing it removes the card.
#
# Every PC/SC client of the lab (the agent) needs PCSCLITE_CSOCK_NAME=<dir>/pcscd.comm: the client
# library reads it. The daemon does not (pcsc-lite 1.9 hard-codes /run/pcscd/pcscd.comm), but it
# accepts a listening socket handed over the systemd way (LISTEN_FDS=1, LISTEN_PID, fd 3): a few
# lines of Perl bind <dir>/pcscd.comm and exec pcscd with it. pcscd still writes (and removes on
# exit) /run/pcscd/pcscd.pid, so this runs as root; a system pcscd keeps serving its own socket.
# Several labs can run at once (each its own folder and ports).
#
# vpcd opens two readers: "Virtual PCD 00 00" on VPCD_PORT and "Virtual PCD 00 01" on VPCD_PORT+1,
# both listening on every interface (vpcd's choice): use it on test machines only. No APDU logging:
# the VERIFY command carries the PIN.
set -euo pipefail

usage() {
  echo "usage: $0 start|stop|remove <dir>  |  $0 insert <dir> <cert.der> <key.pkcs8.der> <pin> [tries]" >&2
  exit 2
}
[ $# -ge 2 ] || usage
cmd=$1
dir=$2

port_in_use() { ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }
listened_by() { ss -Htlnp "sport = :$1" 2>/dev/null | grep -q "pid=$2,"; } # port, pid
# Running and not a zombie (in a container, pid 1 may be slow to reap orphans).
alive() { [ -e "/proc/$1" ] && ! awk '{ exit ($3 == "Z") ? 0 : 1 }' "/proc/$1/stat" 2>/dev/null; }

# pcscd (run with --info) logs each insertion and removal it notices at its polls (~400 ms apart).
# Waiting for that line makes "remove then insert another card" two events for every PC/SC client,
# instead of a swap pcscd might never see between two polls.
events() { grep -c "$1" "$dir/pcscd.log" 2>/dev/null || true; }
wait_event() { # pattern, count before
  for _ in $(seq 60); do
    [ "$(events "$1")" -gt "$2" ] && return 0
    sleep 0.05
  done
  echo "card lab: pcscd did not report '$1'" >&2
}

remove() {
  if [ -f "$dir/card.pid" ]; then
    pid=$(cat "$dir/card.pid")
    # comm is cut at 15 characters.
    if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = passerelle-virt ]; then
      local before
      before=$(events "Card Removed")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 20); do alive "$pid" || break; sleep 0.05; done
      wait_event "Card Removed" "$before"
    fi
    rm -f "$dir/card.pid"
  fi
}

insert() { # cert key pin [tries]
  [ $# -ge 3 ] || usage
  [ -f "$dir/env" ] || { echo "card lab not started in $dir" >&2; exit 1; }
  local bin port pid
  bin=${PASSERELLE_VIRTUAL_CARD:-$(dirname "$0")/../target/debug/passerelle-virtual-card}
  [ -x "$bin" ] || { echo "$bin missing: cargo build -p testkit --bins" >&2; exit 1; }
  port=$(sed -n 's/^VPCD_PORT=//p' "$dir/env")
  remove
  local before
  before=$(events "Card inserted")
  "$bin" --port "$port" --cert "$1" --key "$2" --pin "$3" --tries "${4:-3}" \
    > "$dir/card.log" 2>&1 < /dev/null &
  pid=$!
  echo "$pid" > "$dir/card.pid"
  for _ in $(seq 200); do
    grep -q '^inserted' "$dir/card.log" 2>/dev/null && break
    alive "$pid" || break
    sleep 0.05
  done
  grep -q '^inserted' "$dir/card.log" || { cat "$dir/card.log" >&2; remove; exit 1; }
  # vpcd took the connection; pcscd notices the card at its next poll.
  wait_event "Card inserted" "$before"
  echo "card inserted (pid $pid)"
}

stop() {
  remove
  if [ -f "$dir/pcscd.pid" ]; then
    pid=$(cat "$dir/pcscd.pid")
    # Only our pcscd: the pid may have been reused since.
    if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = pcscd ]; then
      # pcscd takes about 2 s to stop its vpcd readers on SIGTERM; a test lab has nothing to
      # save, so it gets 0.3 s before SIGKILL (which leaves /run/pcscd/pcscd.pid behind: harmless).
      kill "$pid" 2>/dev/null || true
      for _ in 1 2 3 4 5 6; do alive "$pid" || break; sleep 0.05; done
      kill -9 "$pid" 2>/dev/null || true
      for _ in $(seq 20); do alive "$pid" || break; sleep 0.05; done
    fi
    rm -f "$dir/pcscd.pid"
  fi
  rm -f "$dir/pcscd.comm" "$dir/env"
}

start() {
  command -v pcscd >/dev/null || { echo "pcscd missing: bash scripts/install-tools.sh" >&2; exit 1; }
  [ -e /usr/lib/pcsc/drivers/serial/libifdvpcd.so ] ||
    { echo "vsmartcard-vpcd missing: bash scripts/install-tools.sh" >&2; exit 1; }
  mkdir -p "$dir/reader.conf.d"
  dir=$(cd "$dir" && pwd)
  stop
  local attempt port pid
  for attempt in 1 2 3 4 5; do
    # Below Linux's ephemeral range (32768+), where outgoing connections take their ports.
    port=$((20000 + RANDOM % 12000))
    if port_in_use "$port" || port_in_use $((port + 1)); then continue; fi
    printf 'FRIENDLYNAME "Virtual PCD"\nDEVICENAME   /dev/null:0x%X\nLIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so\nCHANNELID    0x%X\n' \
      "$port" "$port" > "$dir/reader.conf.d/vpcd"
    # setsid: the daemon outlives the shell that started it, and a Ctrl-C in the caller's
    # terminal does not reach it (stop does).
    setsid perl -e '
      use strict; use Socket; use POSIX (); use Fcntl;
      my $path = shift @ARGV;
      unlink $path;
      socket(my $s, AF_UNIX, SOCK_STREAM, 0) or die "socket: $!";
      bind($s, pack_sockaddr_un($path)) or die "bind $path: $!";
      listen($s, 128) or die "listen: $!";
      chmod 0666, $path;
      if (fileno($s) != 3) { POSIX::dup2(fileno($s), 3) or die "dup2: $!"; }
      else { fcntl($s, F_SETFD, fcntl($s, F_GETFD, 0) & ~FD_CLOEXEC) or die "fcntl: $!"; }
      $ENV{LISTEN_FDS} = 1; $ENV{LISTEN_PID} = $$;
      exec @ARGV or die "exec: $!";
    ' "$dir/pcscd.comm" pcscd --foreground --info --config "$dir/reader.conf.d" \
      > "$dir/pcscd.log" 2>&1 < /dev/null &
    pid=$!
    echo "$pid" > "$dir/pcscd.pid"
    for _ in $(seq 100); do
      grep -q 'daemon ready' "$dir/pcscd.log" 2>/dev/null && listened_by "$port" "$pid" && break
      alive "$pid" || break
      sleep 0.05
    done
    if grep -q 'daemon ready' "$dir/pcscd.log" && listened_by "$port" "$pid"; then
      cat > "$dir/env" <<EOF
PCSCLITE_CSOCK_NAME=$dir/pcscd.comm
VPCD_PORT=$port
CARD_LAB_READER='Virtual PCD 00 00'
EOF
      echo "card lab ready: $dir/env (vpcd port $port, pcscd pid $pid)"
      return 0
    fi
    echo "card lab: pcscd not ready on port $port (attempt $attempt), see $dir/pcscd.log" >&2
    stop
  done
  echo "card lab: could not start pcscd" >&2
  exit 1
}

case "$cmd" in
  start) [ $# -eq 2 ] || usage; start ;;
  stop) [ $# -eq 2 ] || usage; stop ;;
  insert) shift 2; insert "$@" ;;
  remove) [ $# -eq 2 ] || usage; remove ;;
  *) usage ;;
esac
