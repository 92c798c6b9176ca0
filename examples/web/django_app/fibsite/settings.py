"""Settings for the demo: no database, no admin, no sessions, no templates."""

import os

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "demo-only-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS: list[str] = []
# CommonMiddleware redirects /fibonacci_native/10 to /fibonacci_native/10/ (APPEND_SLASH),
# as in a default project.
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]

ROOT_URLCONF = "fibsite.urls"
WSGI_APPLICATION = "fibsite.wsgi.application"
DATABASES: dict[str, dict[str, str]] = {}

USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False
