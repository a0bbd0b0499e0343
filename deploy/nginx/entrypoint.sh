#!/bin/sh
# The reverse proxy of docker-compose.yml: writes the upload limit into
# nginx's configuration, then runs nginx in the foreground.
#
#   UPLOAD_MAX_BYTES   the web's upload limit (compose passes the same value
#                      to the web, from one place)
#
# Why generated here: nginx reads no environment variables, and the body
# limit must follow the web's. nginx refuses a body declared over the limit
# (+ the multipart framing margin the web allows too, ingest/streamed_upload.py
# MULTIPART_OVERHEAD) with 413 before a byte of it is read, with the web's
# own JSON message under /api/.
set -eu

limit=${UPLOAD_MAX_BYTES:-}
case $limit in
  "" | *[!0-9]*) echo "nginx: UPLOAD_MAX_BYTES must be a whole number, got '$limit'" >&2; exit 64 ;;
esac
margin=65536
# The same wording as the web's ingest/limits.py human_size.
human=$(awk -v n="$limit" 'BEGIN {
  split("bytes KiB MiB GiB", units, " ")
  for (i = 1; i <= 4; i++) {
    if (n < 1024 || i == 4) {
      if (i == 1 || n == int(n)) printf "%d %s", n, units[i]; else printf "%.1f %s", n, units[i]
      exit
    }
    n /= 1024
  }
}')

cat >/etc/nginx/video-pipeline-limits.conf <<CONF
client_max_body_size $((limit + margin));
CONF
cat >/etc/nginx/video-pipeline-413.conf <<CONF
location @upload_too_large {
    default_type application/json;
    return 413 '{"error": "The file is larger than the $human upload limit."}\n';
}
CONF

# Request bodies and large responses are buffered here (a volume), written
# by nginx's worker processes.
mkdir -p /var/lib/video-pipeline-nginx/body /var/lib/video-pipeline-nginx/proxy
chown -R nobody:nogroup /var/lib/video-pipeline-nginx
exec nginx -c /etc/video-pipeline/nginx.conf -g "daemon off;"
