#!/bin/sh
# Entry point of the bench:router backend image: nginx serving a 1 KiB body with keep-alive.
#
#   start.sh LABEL [PORT]
#
# Every response is the same 1024-byte body whose first line names the instance (the container's
# hostname) and LABEL (e.g. the version), and carries them in `X-Instance` and `X-Label` too, so that a
# client can tell which instance and version answered.
set -eu
label=${1:-backend}
port=${2:-8080}
host=$(hostname)
mkdir -p /tmp/www /tmp/nginx
line="instance=$host label=$label"
# The identity line, then filler up to exactly 1023 bytes, then a newline.
{ printf '%s\n' "$line"; head -c 1024 /dev/zero | tr '\0' 'x'; } | head -c 1023 >/tmp/www/index.html
printf '\n' >>/tmp/www/index.html
sed -e "s/@PORT@/$port/g" -e "s/@INSTANCE@/$host/g" -e "s/@LABEL@/$label/g" /etc/bench/nginx.conf >/tmp/nginx/nginx.conf
exec /usr/sbin/nginx -p /tmp/nginx -c /tmp/nginx/nginx.conf -e stderr
