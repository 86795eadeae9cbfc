# syntax=docker/dockerfile:1
# The plcdiag container image; docs/DEPLOY.md ("Container image") explains its use.
#   docker build -t plcdiag .
#   docker run --rm -p 127.0.0.1:8080:8080 plcdiag demo --listen 0.0.0.0:8080 --insecure-no-auth

# Build on the same Debian release as the runtime stage, so the binary's glibc matches.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
# The cache mounts keep crates and build output between builds; the binary is copied out of
# the cached target folder in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin plcdiag \
    && install -D -m 0755 target/release/plcdiag /out/plcdiag

# The binary needs only glibc, libm and libgcc_s (SQLite, migrations, UI and TLS roots are
# compiled in), all in debian:bookworm-slim.
FROM debian:bookworm-slim
# A fixed numeric user, so a host folder for the history can be given to it (chown 10001).
RUN groupadd --system --gid 10001 plcdiag \
    && useradd --system --uid 10001 --gid plcdiag --home-dir /var/lib/plcdiag \
       --shell /usr/sbin/nologin plcdiag \
    && install -d -m 0750 -o plcdiag -g plcdiag /var/lib/plcdiag \
    && install -d -m 0755 /etc/plcdiag
COPY --from=build /out/plcdiag /usr/local/bin/plcdiag
USER plcdiag:plcdiag
WORKDIR /var/lib/plcdiag
VOLUME ["/var/lib/plcdiag"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s CMD ["plcdiag", "healthcheck"]
# plcdiag stops cleanly on SIGTERM (what `docker stop` sends), normally in milliseconds but
# 40 s at the very worst (docs/DEPLOY.md, "Shutdown"): run with `--stop-timeout 45`.
STOPSIGNAL SIGTERM
ENTRYPOINT ["plcdiag"]
CMD ["run", "--config", "/etc/plcdiag/plcdiag.toml"]
