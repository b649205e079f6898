# syntax=docker/dockerfile:1
# weighbridge's image: the wheel and its dependencies in a virtualenv on python:3.11-slim,
# run as an unprivileged user with an exec-form entrypoint (no shell involved).
#   docker build -t REGISTRY/weighbridge:0.1.0 .
# Without a registry, scripts/build-image.sh (`make image`) builds this same file with
# podman on a base of Debian's own python3.11 and a wheelhouse built on the host.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
# How to run pip, and where it finds packages: the defaults use the base's pip and PyPI;
# build-image.sh runs pip from its wheel in a mounted wheelhouse, with --no-index.
ARG PIP="python -m pip"
ARG PIP_OPTIONS=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
COPY pyproject.toml ./
COPY extender ./extender
# The wheel first, then a virtualenv without pip holding it and its dependencies; pip
# compiles the bytecode now, since the root filesystem is read-only at run time. Test
# suites that wheels ship (numpy's) are dropped: nothing imports them at run time.
RUN ${PIP} wheel ${PIP_OPTIONS} --no-deps --wheel-dir /wheels . \
 && python -m venv --without-pip /opt/weighbridge \
 && ${PIP} --python /opt/weighbridge/bin/python install ${PIP_OPTIONS} \
      /wheels/weighbridge-*.whl \
 && find /opt/weighbridge/lib -depth -type d -name tests -path '*/numpy/*' \
      -exec rm -rf {} +

FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
# The project publishes no repository address yet: pass the real one when you publish
# (--build-arg SOURCE=...); the default only says where it will be looked for.
ARG SOURCE=https://github.com/weighbridge/weighbridge
LABEL org.opencontainers.image.title="weighbridge" \
      org.opencontainers.image.description="A Kubernetes scheduler extender that ports OpenStack Nova's filter scheduler" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/weighbridge/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=build /opt/weighbridge /opt/weighbridge
# Numeric, so that the kubelet can check runAsNonRoot; the chart runs the same IDs.
USER 65532:65532
EXPOSE 8888
ENTRYPOINT ["/opt/weighbridge/bin/weighbridge"]
CMD ["serve", "--config", "/etc/weighbridge/config.yaml", "--host", "0.0.0.0", "--port", "8888"]
