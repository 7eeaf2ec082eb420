// Configuration text for the backends and each proxy under test. Every proxy gets
// two TCP frontends in front of the same backends: `http` (round-robin over the three
// nginx ports) and `iperf` (one iperf3 server: iperf3's control and data connections
// must reach the same server). Settings follow ../shared/BENCH-NOTES.md.

export interface BackendPorts {
  readonly http: readonly number[] // the nginx backend's three ports
  readonly iperf: number // the iperf3 server
}

export interface FrontendPorts {
  readonly http: number
  readonly iperf: number
}

/** The fixed response body: 100 bytes. */
export const BODY = 'x'.repeat(99) + '\n'

const NGINX_STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so'

/** nginx backend: one worker, three ports, a fixed 100-byte 200, keep-alive for the whole run. */
export function nginxBackendConfig(dir: string, ports: readonly number[]): string {
  const listens = ports.map((p) => `    listen 127.0.0.1:${p} backlog=4096;`).join('\n')
  return `daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 20000;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 19000; }
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 600s;
  client_header_timeout 600s;
  client_body_temp_path ${dir}/tmp-body;
  proxy_temp_path ${dir}/tmp-proxy;
  fastcgi_temp_path ${dir}/tmp-fastcgi;
  uwsgi_temp_path ${dir}/tmp-uwsgi;
  scgi_temp_path ${dir}/tmp-scgi;
  server {
${listens}
    location / {
      default_type text/plain;
      return 200 "${BODY.slice(0, -1)}\\n";
    }
  }
}
`
}

/** HAProxy in TCP mode with `threads` threads (maxpipes keeps its descriptor need under 20,000). */
export function haproxyConfig(threads: number, fe: FrontendPorts, be: BackendPorts, splice = false): string {
  const servers = be.http.map((p, i) => `  server s${i + 1} 127.0.0.1:${p}`).join('\n')
  return `global
  nbthread ${threads}
  maxconn 9400
  maxpipes 500

defaults
  mode tcp
  maxconn 9400
  timeout connect 5s
  timeout client 600s
  timeout server 600s${splice ? '\n  option splice-auto' : ''}

frontend http
  bind 127.0.0.1:${fe.http}
  default_backend be

backend be
  balance roundrobin
${servers}

frontend iperf
  bind 127.0.0.1:${fe.iperf}
  default_backend iperf

backend iperf
  server i1 127.0.0.1:${be.iperf}
`
}

/** nginx `stream` with `workers` workers (round-robin is the upstream default). */
export function nginxStreamConfig(dir: string, workers: number, fe: FrontendPorts, be: BackendPorts): string {
  const servers = be.http.map((p) => `    server 127.0.0.1:${p};`).join('\n')
  return `load_module ${NGINX_STREAM_MODULE};
daemon off;
master_process on;
worker_processes ${workers};
worker_rlimit_nofile 20000;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 19000; }
stream {
  upstream be {
${servers}
  }
  upstream iperf {
    server 127.0.0.1:${be.iperf};
  }
  server {
    listen 127.0.0.1:${fe.http} backlog=4096;
    proxy_pass be;
    proxy_connect_timeout 5s;
    proxy_timeout 600s;
  }
  server {
    listen 127.0.0.1:${fe.iperf};
    proxy_pass iperf;
    proxy_connect_timeout 5s;
    proxy_timeout 600s;
  }
}
`
}

/** l4lb with `workers` workers and `engine` (config `engine`): two listeners, each with its own pool. */
export function l4lbConfig(workers: number, fe: FrontendPorts, be: BackendPorts, engine: 'js' | 'native' = 'js'): string {
  const backends = be.http.map((p) => `      - { host: 127.0.0.1, port: ${p} }`).join('\n')
  return `workers: ${workers}
listeners:
  - { name: bench, bind: 127.0.0.1:${fe.http}, pool: be }
  - { name: iperf, bind: 127.0.0.1:${fe.iperf}, pool: iperf }
pools:
  - name: be
    policy: round-robin
    retries: 1
    backends:
${backends}
    health: { type: none }
  - name: iperf
    policy: round-robin
    retries: 1
    backends:
      - { host: 127.0.0.1, port: ${be.iperf} }
    health: { type: none }
timeouts: { connect: 5s, idle: 600s, half-closed: 30s }
admin: { enabled: false }
log: { level: warn, connections: false }
engine: ${engine}
`
}
