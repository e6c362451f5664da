# Anxin (安心) image: `docker build -t anxin .`; how to run it is in README.md ("Docker").
# One process serves every configured channel; state lives in the /data volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 anxin \
    && mkdir /data \
    && chown anxin:anxin /data

WORKDIR /app

# Dependencies from the same pinned lock as `make`, in their own layer so a code edit does not reinstall them.
COPY requirements.txt ./
RUN pip install -r requirements.txt

# Code and content (intents/, faq/, safety/, lexicon/): .dockerignore lists exactly what comes in.
COPY . .
RUN pip install --no-deps .

# BOT_HOST 0.0.0.0: the web server (webhooks, /healthz) must be reachable from outside the container.
# PTB_TIMEDELTA: python-telegram-bot's v23 behaviour for retry_after, which the bot already expects.
ENV BOT_DATA_DIR=/data \
    BOT_CONTENT_DIR=/app \
    BOT_HOST=0.0.0.0 \
    BOT_PORT=8080 \
    PTB_TIMEDELTA=1

USER anxin
VOLUME ["/data"]
EXPOSE 8080

# Only webhook channels run a web server; in polling mode there is nothing to probe, so the check passes.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as r; web = os.environ.get('TELEGRAM_WEBHOOK_URL') or os.environ.get('WECHAT_TOKEN'); sys.exit(0 if not web or r.urlopen('http://127.0.0.1:' + os.environ.get('BOT_PORT', '8080') + '/healthz', timeout=4).status == 200 else 1)"]

CMD ["anxin", "run"]
