#!/bin/sh
# minio-init (docker-compose.yml): the warehouse bucket, then one MinIO user per K2 role with its own policy
# (issue 18, least privilege; deploy/k8s/README.md "Credentials"). The policies are IAM JSON, the same documents an
# AWS IAM policy for the prod buckets starts from:
#   k2-lake-writer  k2-lake-readwrite.json  iceberg-writer (and its maintenance job): read, write, delete under iceberg/
#   k2-lake-reader  k2-lake-read.json       query-api: read under iceberg/
#   k2-asx-input    k2-asx-input-read.json  asx-batch-loader: read under landing/asx/
# The root user stays with this job. Idempotent: every step may run again on the next `docker compose up`.
# Usage: init.sh ALIAS/BUCKET, with MC_HOST_<ALIAS> and the three *_SECRET variables set.
set -eu
target="$1"
alias="${target%%/*}"
here="$(dirname "$0")"

mc mb --ignore-existing "$target"

# user ACCESS_KEY SECRET_KEY POLICY
user() {
  mc admin policy create "$alias" "$3" "$here/$3.json"
  mc admin user add "$alias" "$1" "$2"
  # Older mc releases fail when the policy is attached already (minio/mc#4670); the user's info then names it. The
  # image has no grep, hence case.
  if ! mc admin policy attach "$alias" "$3" --user "$1"; then
    case "$(mc admin user info "$alias" "$1")" in
      *"$3"*) ;;
      *) exit 1 ;;
    esac
  fi
}

user k2-lake-writer "$K2_LAKE_WRITER_SECRET" k2-lake-readwrite
user k2-lake-reader "$K2_LAKE_READER_SECRET" k2-lake-read
user k2-asx-input "$K2_ASX_INPUT_SECRET" k2-asx-input-read
