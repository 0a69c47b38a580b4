# One image for every role of EduTrack; the command selects the role:
#   docker run IMAGE                 -> edutrack api --host 0.0.0.0 (the default)
#   docker run IMAGE relay|notifier  -> a worker;  docker run IMAGE migrate -> apply migrations and exit
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so that a code change does not reinstall them: install the package's requirements
# from setup.cfg with an empty package, then copy the real code over it.
COPY setup.cfg pyproject.toml README.md ./
RUN mkdir edutrack && touch edutrack/__init__.py \
    && pip install . \
    && pip uninstall -y edutrack \
    && rm -rf edutrack build *.egg-info

COPY . .
# Editable install: the package stays at /app/edutrack, so migrations/ and static/ sit next to it,
# exactly where `edutrack migrate` and the app look for them. --no-deps: they are installed above.
RUN pip install --no-deps -e . \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin edutrack \
    && mkdir -p /app/var \
    && chown -R edutrack:edutrack /app/var

USER edutrack

EXPOSE 8000

# Liveness of the API role (no I/O behind it). Worker containers disable it in docker-compose.yml.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'), timeout=4)"]

ENTRYPOINT ["edutrack"]
CMD ["api", "--host", "0.0.0.0"]
