# A Python base from Debian's packages on the local Debian base (`make images`): what the lab image
# builds on where the official python image cannot be pulled. Debian 12's Python is 3.11.
ARG DEBIAN_IMAGE=fastapi-lab/debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      python3 python3-venv ca-certificates >/dev/null && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/bin/python3 /usr/local/bin/python
