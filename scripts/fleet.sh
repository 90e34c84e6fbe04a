#!/usr/bin/env bash
# A fleet on one machine: N Passerelle instances (default 2) over one PostgreSQL, behind nginx
# answering on one address in round robin (no sticky sessions). Everything a flow needs is in
# PostgreSQL, so any instance may serve any request of it.
#
#   bash scripts/fleet.sh start <dir> [instances] [port]
#       # <dir>: the data folder (its embedded cluster and the keys every instance shares); the
#       # database must already be migrated and seeded (`passerelle migrate`, `passerelle demo
#       # seed`, with PASSERELLE_DATA_DIR=<dir>). Instances listen on port+1…port+N, nginx on
#       # port (default 3920). Extra settings for every instance come from the environment
#       # (PASSERELLE_*). Returns once the fleet address answers /readyz; writes <dir>/fleet/env
#       # with FLEET_URL and FLEET_INSTANCES (their addresses).
#   bash scripts/fleet.sh stop <dir>
#   bash scripts/fleet.sh kill <dir> <i>     # SIGKILL of instance i (1…N), as a crash would
#   bash scripts/fleet.sh revive <dir> <i>   # starts instance i again with the settings of start
#
# PASSERELLE_BIN chooses the binary (default: target/debug/passerelle).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 start <dir> [instances] [port] | stop <dir> | kill <dir> <i> | revive <dir> <i>" >&2; exit 2; }
cmd=$1
dir=$(mkdir -p "$2" && cd "$2" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${PASSERELLE_BIN:-$root/target/debug/passerelle}
fleet="$dir/fleet"

stop() {
  for pidfile in "$fleet"/instance-*.pid; do
    [ -f "$pidfile" ] || continue
    kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  for pidfile in "$fleet"/instance-*.pid; do
    [ -f "$pidfile" ] || continue
    local pid
    pid=$(cat "$pidfile")
    for _ in $(seq 100); do [ -e "/proc/$pid" ] || break; sleep 0.1; done
    rm -f "$pidfile"
  done
  [ -f "$fleet/nginx.pid" ] && kill "$(cat "$fleet/nginx.pid")" 2>/dev/null || true
  rm -f "$fleet/nginx.pid"
  PASSERELLE_DATA_DIR="$dir" DATABASE_URL= "$bin" db stop >/dev/null 2>&1 || true
}

start() {
  local n=$1 port=$2
  stop
  mkdir -p "$fleet" && chmod 777 "$fleet"
  # The one database: the embedded cluster of <dir>, started once for all the instances.
  local url
  url=$(PASSERELLE_DATA_DIR="$dir" DATABASE_URL= "$bin" db start 2>"$fleet/db.log")
  local upstream="" instances=""
  for i in $(seq "$n"); do
    upstream+="    server 127.0.0.1:$((port + i)) max_fails=1 fail_timeout=2s;"$'\n'
    instances+="http://127.0.0.1:$((port + i)) "
  done
  cat > "$fleet/nginx.conf" <<NGINX
daemon off;
worker_processes 1;
pid $fleet/nginx.pid;
error_log $fleet/nginx-error.log warn;
events { worker_connections 256; }
http {
  # Which instance served each request (the last field).
  log_format fleet '\$remote_addr "\$request" \$status \$upstream_addr';
  access_log $fleet/nginx-access.log fleet;
  client_body_temp_path $fleet/body;
  proxy_temp_path $fleet/proxy;
  fastcgi_temp_path $fleet/fastcgi;
  uwsgi_temp_path $fleet/uwsgi;
  scgi_temp_path $fleet/scgi;
  # Round robin, no stickiness; a request that cannot reach an instance goes to the next one, and
  # that instance is left out for 2 s before being tried again (nginx's passive health check: an
  # instance started again rejoins within 2 s).
  upstream passerelle {
$upstream  }
  server {
    listen 127.0.0.1:$port;
    client_max_body_size 16m;
    location / {
      proxy_pass http://passerelle;
      proxy_bind 127.0.0.4;
      proxy_redirect off;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host:\$server_port;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_next_upstream error timeout http_502;
      # Long polls (TIQR, the card agent's page) wait up to 25 s.
      proxy_read_timeout 60s;
    }
  }
}
NGINX
  # What every instance is started with, kept for `revive` (readable by this user only: it may
  # hold secrets of the configuration).
  ( umask 077
    for name in $(compgen -e | grep -E '^(PASSERELLE_|RUST_LOG$)' || true); do declare -px "$name"; done
    printf 'export DATABASE_URL=%q PASSERELLE_DATA_DIR=%q\n' "$url" "$dir"
    printf 'export PASSERELLE_PUBLIC_URL=%q PASSERELLE_TRUSTED_PROXIES=%q\n' \
      "${PASSERELLE_PUBLIC_URL:-http://127.0.0.1:$port}" "${PASSERELLE_TRUSTED_PROXIES:-127.0.0.4}"
  ) > "$fleet/settings"
  for i in $(seq "$n"); do
    echo "$((port + i))" > "$fleet/instance-$i.port"
    : > "$fleet/instance-$i.log"
    launch "$i"
    # The first one creates the shared keys of <dir>; the others start once it answers.
    wait_ready "http://127.0.0.1:$((port + i))" "$fleet/instance-$i.log" "$(cat "$fleet/instance-$i.pid")"
  done
  local nginx_bin
  nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
  setsid "$nginx_bin" -c "$fleet/nginx.conf" -e "$fleet/nginx-error.log" > "$fleet/nginx.out" 2>&1 < /dev/null &
  wait_ready "http://127.0.0.1:$port" "$fleet/nginx-error.log" "$!"
  printf 'FLEET_URL=http://127.0.0.1:%s\nFLEET_INSTANCES="%s"\n' "$port" "${instances% }" > "$fleet/env"
  echo "fleet ready: http://127.0.0.1:$port over $n instances (${instances% })"
}

launch() { # instance number
  local i=$1
  ( source "$fleet/settings"
    export PASSERELLE_LISTEN="127.0.0.1:$(cat "$fleet/instance-$i.port")"
    exec setsid "$bin" serve >> "$fleet/instance-$i.log" 2>&1 < /dev/null ) &
  echo $! > "$fleet/instance-$i.pid"
}

wait_ready() { # url, log, pid
  for _ in $(seq 240); do
    curl -sf "$1/readyz" >/dev/null 2>&1 && return 0
    if ! kill -0 "$3" 2>/dev/null; then break; fi
    sleep 0.5
  done
  echo "fleet: $1 did not become ready; its log:" >&2
  tail -n 40 "$2" >&2
  return 1
}

case $cmd in
  start) start "${3:-2}" "${4:-3920}" ;;
  stop) stop ;;
  kill) [ -f "$fleet/instance-${3:?instance number}.pid" ] || { echo "no instance $3" >&2; exit 2; }
        pid=$(cat "$fleet/instance-$3.pid")
        kill -KILL "$pid" 2>/dev/null || true
        # Returns once its port is closed: a dying process (SIGKILL waits for a write in
        # progress) still has its listening socket, and a request nginx sends it then is taken
        # in and cut (a POST is not tried again: 502), where a closed port makes nginx try the
        # other instance. (The port, not the pid: a zombie nobody reaps still answers kill -0.)
        port_of_instance=$(cat "$fleet/instance-$3.port")
        for _ in $(seq 100); do
          ss -Htln "sport = :$port_of_instance" | grep -q . || break
          sleep 0.1
        done
        echo "instance $3 killed" ;;
  revive) [ -f "$fleet/instance-${3:?instance number}.port" ] || { echo "no instance $3" >&2; exit 2; }
          launch "$3"
          wait_ready "http://127.0.0.1:$(cat "$fleet/instance-$3.port")" "$fleet/instance-$3.log" "$(cat "$fleet/instance-$3.pid")"
          echo "instance $3 serving again" ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
