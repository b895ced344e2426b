# The slmfleet operator image: `slmfleet run` as a non-root user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator/ operator/
RUN pip install . \
    && rm -rf /src

# The chart's runAsUser (10001) matches this user; the root filesystem can be mounted read-only.
RUN groupadd --system --gid 10001 slmfleet \
    && useradd --system --uid 10001 --gid 10001 --home-dir /home/slmfleet --create-home \
       --shell /usr/sbin/nologin slmfleet
USER 10001:10001
WORKDIR /home/slmfleet
ENV HF_HOME=/var/cache/slmfleet/huggingface

EXPOSE 8080
ENTRYPOINT ["slmfleet"]
CMD ["run"]
