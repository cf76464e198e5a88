#!/bin/sh
# The official postgres image's start, in short: a first start makes the cluster, the user and the
# database from POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB; then PostgreSQL runs as pid 1.
set -eu
for dir in /usr/lib/postgresql/*/bin; do [ -x "$dir/postgres" ] && BIN=$dir; done  # the server's version
SOCKETS=/var/run/postgresql
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
if [ "${1:-postgres}" = "postgres" ]; then
  [ $# -gt 0 ] && shift
  mkdir -p "$PGDATA" "$SOCKETS" && chown -R postgres:postgres "$PGDATA" "$SOCKETS"
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    printf '%s\n' "${POSTGRES_PASSWORD:-lab}" > /tmp/pwfile && chown postgres /tmp/pwfile
    as_postgres "$BIN/initdb" -D "$PGDATA" -U "${POSTGRES_USER:-postgres}" --pwfile=/tmp/pwfile --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
    rm /tmp/pwfile
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
    echo "unix_socket_directories = '$SOCKETS'" >> "$PGDATA/postgresql.conf"
    echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
    as_postgres "$BIN/pg_ctl" -D "$PGDATA" -o "-c listen_addresses=" -w start >/dev/null
    if [ -n "${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != "postgres" ]; then
      as_postgres psql -h "$SOCKETS" -U "${POSTGRES_USER:-postgres}" -d postgres -qc "CREATE DATABASE \"$POSTGRES_DB\""
    fi
    as_postgres "$BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
  fi
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$BIN/postgres" -D "$PGDATA" "$@"
fi
exec "$@"
