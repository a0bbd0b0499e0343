#!/bin/sh
# The object store of docker-compose.yml (docs/storage.md): SeaweedFS with one
# bucket and the two least-privilege identities, built from the environment
# at every start, so no key is ever written into the repository or an image.
#
#   S3_BUCKET                                               the bucket
#   WEB_S3_ACCESS_KEY_ID, WEB_S3_SECRET_ACCESS_KEY          the web's identity
#   TRANSCODER_S3_ACCESS_KEY_ID, TRANSCODER_S3_SECRET_ACCESS_KEY  the transcoder's
#   WEED (optional)                                         the weed binary
#   SEAWEEDFS_DIR (optional)                                data folder, default /data
#   S3_ALLOWED_ORIGINS (optional)                           CORS origins, default "*"; in
#                                                           production the web's own origin
#
# `weed server -s3` rather than `weed mini`: only `server` can bind the S3
# port (-s3.ip.bind) apart from the rest. The master, volume and filer ports
# would serve and change every object without authentication, so they listen
# on the container's loopback only; other containers and the host reach the
# S3 port alone, which checks signatures. S3's gRPC port, 18333, binds with
# it (docker-compose.yml does not publish it, but every container on the
# network reaches it): its IAM and lifecycle services would give an Admin
# identity or delete any object to one unsigned call, so a security.toml
# with signing keys made at each start closes them (see below). `mini` has
# one bind address for everything, and its -bucket flag is replaced here by
# `weed shell`.
set -eu

weed=${WEED:-/usr/bin/weed}
data=${SEAWEEDFS_DIR:-/data}

fail() {
  echo "seaweedfs: $*" >&2
  exit 64
}

# Keys go into JSON unescaped, so only characters that need no escaping are
# accepted (AWS-style keys use letters, digits, / and +).
for name in WEB_S3_ACCESS_KEY_ID WEB_S3_SECRET_ACCESS_KEY \
  TRANSCODER_S3_ACCESS_KEY_ID TRANSCODER_S3_SECRET_ACCESS_KEY; do
  eval "value=\${$name:-}"
  case $value in
    "") fail "$name is required" ;;
    *[!A-Za-z0-9/+=._-]*) fail "$name may hold only letters, digits and / + = . _ -" ;;
  esac
done
bucket=${S3_BUCKET:-}
case $bucket in
  "") fail "S3_BUCKET is required" ;;
  *[!a-z0-9.-]*) fail "S3_BUCKET may hold only lowercase letters, digits, . and -" ;;
esac

# The identities file holds secrets: readable by this user only, and kept out
# of the data volume (it is rewritten from the environment at every start).
umask 077
config=$(mktemp)
cat >"$config" <<EOF
{"identities": [
  {"name": "web",
   "credentials": [{"accessKey": "$WEB_S3_ACCESS_KEY_ID", "secretKey": "$WEB_S3_SECRET_ACCESS_KEY"}],
   "actions": ["Write:$bucket/sources/*", "Read:$bucket/sources/*", "Read:$bucket/outputs/*", "List:$bucket"]},
  {"name": "transcoder",
   "credentials": [{"accessKey": "$TRANSCODER_S3_ACCESS_KEY_ID", "secretKey": "$TRANSCODER_S3_SECRET_ACCESS_KEY"}],
   "actions": ["Read:$bucket/sources/*", "Read:$bucket/outputs/*", "Write:$bucket/outputs/*", "List:$bucket"]}
]}
EOF
# The web's Read on sources/* is beyond docs/storage.md's table: SeaweedFS
# checks ListMultipartUploads (the collector's sweep of abandoned uploads) as
# Read on the listed prefix, so without it the sweep gets 403.

# weed's signing keys, new at every start and never in the image or the
# environment: weed alone uses them, and its tokens live 10 s. The filer's
# write key makes the S3 gRPC port's IAM and lifecycle services refuse an
# unsigned call ("missing authorization metadata"); the others make the
# filer and the volume refuse unsigned reads and writes, should anything
# reach their loopback ports. weed reads ./security.toml: this private
# folder becomes the working directory. (Mutual TLS on gRPC would need
# certificates, which this image has no tool to make; with the master's,
# volume's and filer's gRPC on loopback, the keys close what the network
# reaches.)
key() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
mkdir -p "$data"
data=$(cd "$data" && pwd) # absolute: the working directory changes below
private=$(mktemp -d)
cat >"$private/security.toml" <<EOF
[jwt.signing]
key = "$(key)"
[jwt.signing.read]
key = "$(key)"
[jwt.filer_signing]
key = "$(key)"
[jwt.filer_signing.read]
key = "$(key)"
[filer.expose_directory_metadata]
enabled = false
EOF
case $(cat "$private/security.toml") in
  *'key = ""'*) fail "no random bytes from /dev/urandom for the signing keys" ;;
esac
cd "$private"

# Browsers PUT upload parts to this port from the web's page (docs/storage.md,
# "Uploads"): weed answers their CORS preflights and exposes ETag by itself.

ready=$data/.bucket-ready # the healthcheck's sign that the bucket exists
rm -f "$ready"

"$weed" -logtostderr=true server \
  -dir="$data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
  -master.telemetry=false -master.volumeSizeLimitMB=1024 -volume.max=0 \
  -webdav=false -filer.maxMB=2 \
  -s3 -s3.ip.bind=0.0.0.0 -s3.port=8333 -s3.config="$config" \
  -s3.port.iceberg=0 -s3.port.lance=0 -s3.allowedOrigins="${S3_ALLOWED_ORIGINS:-*}" &
weed_pid=$!
# This shell is PID 1: pass a stop on to weed, then wait for it to finish.
trap 'kill -TERM "$weed_pid" 2>/dev/null || true' TERM INT

# Create the bucket as soon as the master answers; an existing one is kept.
while :; do
  kill -0 "$weed_pid" 2>/dev/null || break
  answer=$(echo "s3.bucket.create -name $bucket" | "$weed" shell -master=127.0.0.1:9333 2>&1 || true)
  case $answer in
    *"created bucket"* | *"already exists"*)
      : >"$ready"
      echo "seaweedfs: bucket $bucket is ready"
      break
      ;;
  esac
  sleep 1
done

# A trapped signal interrupts `wait`; wait again until weed itself has exited.
while :; do
  wait "$weed_pid" && status=0 || status=$?
  kill -0 "$weed_pid" 2>/dev/null || break
done
exit "$status"
