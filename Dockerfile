# syntax=docker/dockerfile:1
# weighbridge's image: the wheel and its dependencies in a virtualenv on python:3.11-slim,
# run as an unprivileged user with an exec-form entrypoint (no shell involved).
#   docker build -t REGISTRY/weighbridge:0.1.0 .
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml ./
COPY extender ./extender
# The wheel first, then a virtualenv without pip holding it and its dependencies; pip
# compiles the bytecode now, since the root filesystem is read-only at run time.
RUN pip wheel --no-deps --wheel-dir /wheels . \
 && python -m venv --without-pip /opt/weighbridge \
 && pip --python /opt/weighbridge/bin/python install /wheels/weighbridge-*.whl

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/weighbridge/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=build /opt/weighbridge /opt/weighbridge
# Numeric, so that the kubelet can check runAsNonRoot; the chart runs the same IDs.
USER 65532:65532
EXPOSE 8888
ENTRYPOINT ["/opt/weighbridge/bin/weighbridge"]
CMD ["serve", "--config", "/etc/weighbridge/config.yaml", "--host", "0.0.0.0", "--port", "8888"]
