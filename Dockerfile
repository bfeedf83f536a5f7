# Caddy with Echelon, in Caddy's own builder pattern: xcaddy builds Caddy
# with this module in the official builder image, and the binary replaces
# the one in the official image. From the repository root:
#
#   docker build -t caddy-echelon .
#   docker run -p 80:80 -p 443:443 -v echelon-data:/data/echelon \
#     -v $PWD/Caddyfile:/etc/caddy/Caddyfile caddy-echelon
#
# The build line is the one CI runs in bench/xcaddy.sh (a test keeps the
# two in agreement); CADDY_VERSION is the Caddy version go.mod requires.
ARG CADDY_VERSION=2.11.9

FROM caddy:${CADDY_VERSION}-builder AS builder
ARG CADDY_VERSION
WORKDIR /src/caddy-echelon
COPY . .
RUN xcaddy build v${CADDY_VERSION} --with github.com/echelon-analytics/caddy-echelon=. --output /usr/bin/caddy

FROM caddy:${CADDY_VERSION}
COPY --from=builder /usr/bin/caddy /usr/bin/caddy
# Echelon's store (db_path). Keep it on a volume: it holds the history.
ENV ECHELON_DB_PATH=/data/echelon
VOLUME /data/echelon
