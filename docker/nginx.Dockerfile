# nginx from Debian's packages on the local Debian base (`make images`), for machines that cannot
# pull the official image. The same interface: `nginx` on the PATH, a configuration given with -c
# (the lab writes it: results/compose/<scenario>.nginx.conf, mounted by docker-compose.yml).
ARG DEBIAN_IMAGE=fastapi-lab/debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      nginx >/dev/null && rm -rf /var/lib/apt/lists/* \
 && ln -sf /usr/sbin/nginx /usr/local/bin/nginx
STOPSIGNAL SIGQUIT
CMD ["nginx", "-c", "/etc/lab/nginx.conf"]
