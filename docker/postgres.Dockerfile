# PostgreSQL from Debian's package, on the local Debian base (`make images`), for machines that
# cannot pull the official image. It takes the official image's interface: POSTGRES_USER,
# POSTGRES_PASSWORD, POSTGRES_DB, and `postgres -c name=value ...` as its command.
ARG DEBIAN_IMAGE=fastapi-lab/debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      postgresql postgresql-contrib >/dev/null && rm -rf /var/lib/apt/lists/*
COPY docker/postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PGDATA=/var/lib/postgresql/data
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
