#!/bin/sh
# Default user from the environment, as the official image takes it, then
# the server in the foreground as the rabbitmq user. Like the official image,
# it lets users log in from other containers (loopback_users = none), and the
# default user is created only with the node's database, on first start.
set -eu
umask 077
{
  echo "loopback_users = none"
  [ -n "${RABBITMQ_DEFAULT_USER:-}" ] && echo "default_user = $RABBITMQ_DEFAULT_USER"
  [ -n "${RABBITMQ_DEFAULT_PASS:-}" ] && echo "default_pass = $RABBITMQ_DEFAULT_PASS"
  echo "management.tcp.port = 15672"
} >/etc/rabbitmq/conf.d/10-defaults.conf
chown rabbitmq:rabbitmq /etc/rabbitmq/conf.d/10-defaults.conf /var/lib/rabbitmq
exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups \
  env HOME=/var/lib/rabbitmq /usr/lib/rabbitmq/bin/rabbitmq-server
