#!/usr/bin/env bash
# nginx as the card host's TLS terminator, in front of a portal on loopback: it asks for the
# client certificate (TLS 1.2 allowed: CPS3 cards cannot sign for TLS 1.3) and forwards it from
# 127.0.0.2, the only address the portal believes the certificate header from (requests reaching
# the portal directly from 127.0.0.1 cannot forge it). Used by scripts/test.sh and scripts/run.sh.
#
#   bash scripts/tls-terminator.sh start <dir> <pki dir> <card port> <portal port(s)> [proxy port]
#       # <portal port(s)>: one port, or several separated by commas (the instances of a fleet,
#       # in round robin: the card host's terminator is then also their load balancer).
#       # writes <dir>/nginx.conf, starts nginx in the background (pid in <dir>/nginx.pid) and
#       # returns once the card host answers; with a proxy port, also an ordinary reverse proxy
#       # (from 127.0.0.3) that passes client headers through, which the portal must not believe.
#   bash scripts/tls-terminator.sh stop <dir>
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 start <dir> <pki dir> <card port> <portal port> [proxy port] | stop <dir>" >&2; exit 2; }
cmd=$1
dir=$2

stop() {
  if [ -f "$dir/nginx.pid" ]; then
    kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
    rm -f "$dir/nginx.pid"
  fi
}

start() {
  local pki=$1 card_port=$2 ports=$3 proxy_port=${4:-}
  mkdir -p "$dir" && chmod 777 "$dir"
  dir=$(cd "$dir" && pwd)
  stop
  local servers="" port
  for port in ${ports//,/ }; do servers+="    server 127.0.0.1:$port;"$'\n'; done
  local proxy=""
  if [ -n "$proxy_port" ]; then
    proxy="
  server {
    listen 127.0.0.1:$proxy_port;
    location / {
      proxy_pass http://portal;
      proxy_bind 127.0.0.3;
      proxy_redirect off;
      proxy_set_header Host \$host:\$server_port;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    }
  }"
  fi
  cat > "$dir/nginx.conf" <<NGINX
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 64; }
http {
  access_log $dir/access.log;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  upstream portal {
$servers  }
  server {
    listen 127.0.0.1:$card_port ssl;
    ssl_certificate $pki/server.cert.pem;
    ssl_certificate_key $pki/server.key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_client_certificate $pki/ca-bundle.pem;
    ssl_verify_client optional_no_ca;
    # Every sign-in is a full handshake signed by the card: no resumed sessions, no kept-alive
    # connections carrying a previous user's certificate.
    ssl_session_tickets off;
    ssl_session_cache off;
    keepalive_timeout 0;
    location / {
      proxy_pass http://portal;
      proxy_bind 127.0.0.2;
      # The portal's redirects back to its own origin must stay as they are.
      proxy_redirect off;
      proxy_set_header Host \$host:\$server_port;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-SSL-Client-Cert \$ssl_client_escaped_cert;
      proxy_set_header X-SSL-Client-Verify \$ssl_client_verify;
      proxy_set_header X-SSL-Session-Reused \$ssl_session_reused;
    }
  }$proxy
}
NGINX
  local nginx_bin
  nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
  "$nginx_bin" -c "$dir/nginx.conf" -e "$dir/error.log" > "$dir/nginx.out" 2>&1 &
  # nginx answers its /healthz through the portal: wait for the TLS listener itself.
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$card_port") 2>/dev/null; then return 0; fi
    if ! kill -0 $! 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "nginx did not start:" >&2
  cat "$dir/error.log" "$dir/nginx.out" >&2 2>/dev/null || true
  return 1
}

case $cmd in
  start) [ $# -ge 5 ] || { echo "usage: $0 start <dir> <pki dir> <card port> <portal port(s)> [proxy port]" >&2; exit 2; }
         start "$3" "$4" "$5" "${6:-}" ;;
  stop) stop ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
