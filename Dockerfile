# The scoring service on a CUDA runtime image, serving the bundled default model.
#   docker build -t lcvade .
#   docker run --gpus all -p 8000:8000 lcvade        # or without --gpus: runs on the CPU
# Settings are LCVADE_* environment variables (see the README), e.g. -e LCVADE_API_KEYS=...
FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/lcvade \
    PATH=/opt/lcvade/bin:$PATH

RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/lcvade

# torch in its own layer: the PyPI wheel for Linux x86_64 brings its CUDA libraries.
RUN pip install torch==2.13.0

WORKDIR /src
COPY pyproject.toml README.md ./
COPY lcvade ./lcvade
COPY models ./models
COPY training ./training
COPY service ./service
RUN pip install . && cd / && rm -rf /src

RUN useradd --create-home --uid 10001 lcvade
USER lcvade
WORKDIR /home/lcvade

ENV LCVADE_HOST=0.0.0.0 \
    LCVADE_PORT=8000 \
    LCVADE_DEVICE=auto
EXPOSE 8000

# Healthy = the model is loaded and warmed up (/readyz answers 200).
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['LCVADE_PORT'] + '/readyz', timeout=4)"

CMD ["lcvade", "serve"]
