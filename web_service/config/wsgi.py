import os

from django.core.wsgi import get_wsgi_application

from core.telemetry import tracing_instrument_web

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Before the handler loads the middleware: Django's instrumentation adds one.
tracing_instrument_web()
application = get_wsgi_application()
