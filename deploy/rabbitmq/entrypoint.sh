#!/bin/sh
# The broker of docker-compose.yml with one user per service, least privilege,
# made from the environment at every start (no password in any file of the
# repository or an image):
#
#   RABBITMQ_DEFAULT_USER                         the admin (management UI, Flower);
#                                                 created by the image itself
#   WEB_BROKER_USER, WEB_BROKER_PASSWORD          web, collector, migrate
#   TRANSCODER_BROKER_USER, TRANSCODER_BROKER_PASSWORD   the transcoders
#   RESULTS_QUEUE (optional)                      the web's reply queue
#
# Usage: entrypoint.sh IMAGE-START-COMMAND...  (the image's own entrypoint,
# e.g. `docker-entrypoint.sh rabbitmq-server`): it runs in the background, the
# users are applied with rabbitmqctl once the node is up, then
# /run/broker-users-ready tells the healthcheck, so no service logs in first.
#
# Why this and not a definitions file or a one-shot service: a definitions
# file wants password hashes, computed by hand; a one-shot container would need
# the node's Erlang cookie (one more secret) or an HTTP client the image lacks.
# Here the local rabbitmqctl does it, and a changed password in .env takes
# effect at the next start.
#
# Permissions are three regular expressions (configure, write, read) matched
# against exchange AND queue names alike, in vhost /.
# https://www.rabbitmq.com/docs/access-control#authorisation
set -eu

fail() {
  echo "rabbitmq: $*" >&2
  exit 64
}
for name in WEB_BROKER_USER WEB_BROKER_PASSWORD TRANSCODER_BROKER_USER TRANSCODER_BROKER_PASSWORD; do
  eval "value=\${$name:-}"
  [ -n "$value" ] || fail "$name is required"
done
[ "$WEB_BROKER_USER" != "$TRANSCODER_BROKER_USER" ] || fail "the web and the transcoder need different users"

ready=/run/broker-users-ready
rm -f "$ready"

# Queue depth and consumers for Prometheus (deploy/prometheus/prometheus.yml):
# the rabbitmq_prometheus plugin on port 15692. The official image enables it
# already; this makes sure of it on any image (a no-op when it is on).
# https://www.rabbitmq.com/docs/prometheus
rabbitmq-plugins --quiet --offline enable rabbitmq_prometheus >/dev/null

"$@" &
server=$!
stopping=
trap 'stopping=1; kill -TERM "$server" 2>/dev/null || true' TERM INT

# The web_service default (web_service/config/settings.py), as a regex.
results=$(printf '%s' "${RESULTS_QUEUE:-web.transcode_results}" | sed 's/[].[\\*^$()+?{}|]/\\&/g')
uuid='[0-9a-f-]{36}'
# Celery's remote control (kombu.pidbox) and events: the fanout exchange
# celery.pidbox, each worker's <name>@<host>.celery.pidbox queue, replies to
# <uuid>.reply.celery.pidbox queues through reply.celery.pidbox (the
# healthcheck's `inspect ping`, mingle), and gossip's celeryev.<uuid> queues
# on the celeryev exchange.
control="celery\\.pidbox|reply\\.celery\\.pidbox|[^@]+@.+\\.celery\\.pidbox|$uuid\\.reply\\.celery\\.pidbox|celeryev|celeryev\\.$uuid"

# The cancel of a job (docs/messages.md, "Cancelling a job"): the web
# publishes to the fanout exchange transcode_cancel, and each worker reads its
# own <name>@<host>.transcode_cancel queue bound to it (binding needs WRITE on
# the queue and READ on the exchange).
cancel_queue="[^@]+@.+\\.transcode_cancel"

# web: publishes to the transcode_queue exchange and nothing more of it (the
# broker declares that queue below, and compose tells the web not to:
# TRANSCODE_QUEUE_DECLARE=0; declaring or binding it would need CONFIGURE and
# READ, and READ on that name is also the right to consume the jobs);
# declares and consumes its reply queue and dead-letter queue (declaring a
# queue with a dead-letter exchange needs WRITE on that exchange: "",
# amq.default); publishes cancels to transcode_cancel (declared below too).
# No right at all on Celery's remote control (celery.pidbox): a fanout
# exchange, where RabbitMQ cannot tell `revoke` from `shutdown` or
# `cancel_consumer transcode_queue`, which stopped every transcoder.
web_configure="^($results|$results\\.dead)\$"
web_write="^(transcode_queue|transcode_cancel|amq\\.default)\$"
web_read="^($results|$results\\.dead)\$"
# transcoder: declares and consumes transcode_queue, republishes its own
# retries to it, sends results through the default exchange (rpc://: routing
# key = the caller's reply queue), Celery's control and events, and hears
# cancels (it cannot send one). Nothing of the web's: it cannot read, declare
# or delete the results queues.
transcoder_configure="^(transcode_queue|transcode_cancel|$cancel_queue|$control)\$"
transcoder_write="^(transcode_queue|amq\\.default|$cancel_queue|$control)\$"
transcoder_read="^(transcode_queue|transcode_cancel|$cancel_queue|$control)\$"

user_apply() { # user password configure write read
  # The password on stdin, not in the process list.
  if ! printf '%s' "$2" | rabbitmqctl --quiet add_user "$1" >/dev/null 2>&1; then
    printf '%s' "$2" | rabbitmqctl --quiet change_password "$1" >/dev/null
  fi
  rabbitmqctl --quiet set_user_tags "$1" # none: no management UI
  rabbitmqctl --quiet set_permissions --vhost / "$1" "$3" "$4" "$5"
}

# await_startup waits for a booting node, but fails at once while the node is
# not yet registered, so first until it answers at all (2 minutes at most).
node_up() {
  tries=0
  until rabbitmqctl --quiet await_startup >/dev/null 2>&1; do
    tries=$((tries + 1))
    [ "$tries" -lt 60 ] && kill -0 "$server" 2>/dev/null || return 1
    sleep 2
  done
}

# transcode_queue, declared exactly as both services declare it (docs/messages.md:
# a durable direct exchange and a durable queue of that name, no arguments), so
# a job the web sends before any transcoder ran is kept; and the cancels'
# durable fanout exchange, so the web, which may not declare it, can publish
# to it before any transcoder ran. Only topology here, no user:
# import_definitions leaves everything else as it is.
jobs_queue_declare() {
  definitions=$(mktemp)
  cat >"$definitions" <<'JSON'
{"exchanges": [{"name": "transcode_queue", "vhost": "/", "type": "direct", "durable": true,
                "auto_delete": false, "internal": false, "arguments": {}},
               {"name": "transcode_cancel", "vhost": "/", "type": "fanout", "durable": true,
                "auto_delete": false, "internal": false, "arguments": {}}],
 "queues": [{"name": "transcode_queue", "vhost": "/", "durable": true, "auto_delete": false,
             "arguments": {}}],
 "bindings": [{"source": "transcode_queue", "vhost": "/", "destination": "transcode_queue",
               "destination_type": "queue", "routing_key": "transcode_queue", "arguments": {}}]}
JSON
  # The node reads the file itself, as the rabbitmq user; it holds no secret.
  chmod 644 "$definitions"
  rabbitmqctl --quiet import_definitions "$definitions" >/dev/null
  rm -f "$definitions"
}

if node_up; then
  jobs_queue_declare
  user_apply "$WEB_BROKER_USER" "$WEB_BROKER_PASSWORD" "$web_configure" "$web_write" "$web_read"
  user_apply "$TRANSCODER_BROKER_USER" "$TRANSCODER_BROKER_PASSWORD" \
    "$transcoder_configure" "$transcoder_write" "$transcoder_read"
  touch "$ready"
  echo "rabbitmq: users $WEB_BROKER_USER and $TRANSCODER_BROKER_USER applied"
else
  echo "rabbitmq: the node did not start; users not applied" >&2
fi

# Until the server exits; a `docker stop` (SIGTERM, through init) is passed on.
status=0
wait "$server" || status=$?
if [ -n "$stopping" ]; then
  status=0
  wait "$server" || status=$?
fi
exit "$status"
