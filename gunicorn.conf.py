"""gunicorn's configuration for the web process: `gunicorn marketplace.wsgi` reads this file from
the working directory by default (the Procfile's `web`). Settings come from the environment:

- PORT (8000): gunicorn listens on 0.0.0.0:PORT.
- WEB_CONCURRENCY: worker processes; by default two per core plus one, at most 8.
- GUNICORN_THREADS (4): threads per worker.
- GUNICORN_TIMEOUT (30): seconds a worker may stay silent before the master restarts it.

Workers are `gthread`: a few requests wait on the network (the VIES check at checkout, an invoice's
PDF or link and the seller dashboard's key from Space Invoices, up to SPACE_INVOICES_TIMEOUT), and
threads keep such a wait from holding a whole process, as a `sync` worker would. Each thread keeps
its own database connection (CONN_MAX_AGE), so PostgreSQL sees up to workers x threads per machine.

Before it binds the port, the master runs the start-up checks of `manage.py` commands
(marketplace/checks.py) and exits with status 1 on an error (an embedded SECRET_KEY with DEBUG off).
gunicorn's own log and its access log go through settings.LOGGING, whose handlers redact; the
access log leaves out query strings, referrers and user agents.
"""

import os
from typing import Any

from gunicorn import glogging

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * (os.cpu_count() or 1) + 1, 8)))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM, requests in progress get this long to finish.
graceful_timeout = 30
keepalive = 5
# The workers' heartbeat files: in memory, as a container's /tmp may be a slow overlay.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108

# gunicorn's control socket (gunicornc) is not used here; its default path in $HOME would be shared
# by every gunicorn of the user on the machine.
control_socket_disable = True

accesslog = "-"
# Client address, method, path, status, bytes, milliseconds, and the request id the response
# answers with (core/request_id.py: the line is written after the request, outside of it).
# No query string (search terms and percent-encoded email addresses), referrer or user agent.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms %({x-request-id}o)s'


class DjangoLogging(glogging.Logger):
    """gunicorn's loggers without handlers of their own, propagating to the root logger, whose
    handlers settings.LOGGING configures (redacting keys, guest links and email addresses)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        from django.apps import apps

        # At start Django is not set up yet: on_starting reroutes once it is. On a reload
        # (SIGHUP) gunicorn sets its handlers up again and they are dropped here.
        if apps.ready:
            self.through_django()

    def through_django(self) -> None:
        for log in (self.error_log, self.access_log):
            for handler in list(log.handlers):
                if getattr(handler, "_gunicorn", False):
                    log.removeHandler(handler)
            log.propagate = True


logger_class = DjangoLogging


def on_starting(server: Any) -> None:
    """Sets Django up in the master (which configures logging) and refuses to start on a
    system-check error, before the port is bound or a worker forked."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
    django.setup()
    server.log.through_django()

    from marketplace.checks import refuse_to_start_on_errors

    refuse_to_start_on_errors()
