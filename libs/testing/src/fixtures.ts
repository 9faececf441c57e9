/**
 * A shell script for a container (busybox) that shows how it was stopped. Its main process records
 * SIGTERM in /tmp/log and keeps running (it ignores the signal as far as stopping goes), next to an httpd
 * on port 8080 that serves `index` at /index.html and whose CGI `/cgi-bin/prestop` appends `prestop` to
 * the same log. With an HTTP preStop hook on that CGI, /tmp/log shows in which order the hook and SIGTERM
 * came; only SIGKILL ends the container (exit code 137).
 */
export function sigtermRecordingApp(index: string): string {
  return [
    'mkdir -p /tmp/www/cgi-bin',
    `printf '#!/bin/sh\\necho prestop >> /tmp/log\\nprintf "Content-Type: text/plain\\\\r\\\\n\\\\r\\\\nok\\\\n"\\n' > /tmp/www/cgi-bin/prestop`,
    'chmod +x /tmp/www/cgi-bin/prestop',
    `echo ${index} > /tmp/www/index.html`,
    'httpd -p 8080 -h /tmp/www',
    "trap 'echo term >> /tmp/log' TERM",
    'while true; do sleep 1 & wait $!; done',
  ].join('\n');
}

/**
 * A version spec for the local busybox image: httpd on port 8080 serving `/index.html` with `content`
 * (expanded by the shell: `$HOSTNAME` names the container), ready once that page answers (probed every
 * second), stopped with a 2 s grace.
 */
export function httpdVersion(content: string, resources: { cpu: number; memory: number }) {
  return {
    image: 'pier/busybox:latest',
    command: ['sh', '-c', `echo "${content}" > /tmp/index.html && exec httpd -f -p 8080 -h /tmp`],
    ports: [{ containerPort: 8080, protocol: 'http' }],
    resources,
    probes: { readiness: { http: { path: '/index.html', port: 8080 }, periodSeconds: 1 } },
    stop: { gracePeriodSeconds: 2 },
  };
}
