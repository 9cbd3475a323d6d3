# The web app: Streamlit + WebRTC webcam, inference on LiteRT (no TensorFlow in the image).
#   docker build -t fer-app .
#   docker run -p 8501:8501 fer-app            (any port: docker run -e PORT=9000 -p 9000:9000 ...)
# Webcam streams from browsers behind NAT need a TURN relay: -e FER_TURN_URL=turn:host:3478
# -e FER_TURN_USERNAME=... -e FER_TURN_CREDENTIAL=...  (see README, "Deploying").
# Stage 1: the dependencies, in their own cached layer (code changes do not reinstall them), as a
# virtual environment without pip, test suites, headers or unused byte-code (see
# deploy/build_app_env.py; bench.tables.image_size measures it). No apt packages: the opencv-headless,
# av (FFmpeg, libvpx, opus), pylibsrtp, cryptography and ai-edge-litert wheels bundle their native
# libraries and need only glibc, libstdc++ and zlib, which slim has.
FROM python:3.11-slim AS deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.txt deploy/build_app_env.py /build/
RUN python /build/build_app_env.py /opt/venv /build/requirements.txt

# Stage 2: the image: the environment copied over (nothing of the build stays), then the code.
# MALLOC_ARENA_MAX=2: glibc otherwise gives each of the many WebRTC and analysis threads its own
# heap arena and keeps their freed memory; a short bench.capacity.soak ended with less resident memory so.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    STREAMLIT_SERVER_HEADLESS=true \
    PATH=/opt/venv/bin:$PATH \
    MALLOC_ARENA_MAX=2 \
    PORT=8501

COPY --from=deps /opt/venv /opt/venv
WORKDIR /app
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin app
# Code and the shipped models (models/*/model*.tflite, metrics, cards), owned by root and
# read-only for the app user.
COPY . .
# fer_core itself through its metadata (pyproject.toml; the `fer-core` command), editable so the
# models are not copied twice; the base image's pip installs into the environment, which has none;
# --no-deps: stage 1 installed them
RUN pip --python /opt/venv/bin/python install --no-deps --no-compile -e . && rm -rf /root/.cache
USER app

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:%s/_stcore/health' % os.environ.get('PORT', '8501'), timeout=4); sys.exit(0 if r.read().strip() == b'ok' else 1)"

# Shell form so that $PORT (set by some platforms at run time) is expanded; `exec` replaces the
# shell, so streamlit is PID 1 and receives `docker stop`'s SIGTERM.
CMD exec streamlit run app.py --server.port="${PORT:-8501}" --server.address=0.0.0.0 --server.headless=true
