#!/usr/bin/env python
"""Django's command-line utility for the seed article's Django + native extension demo.

../../../.venv/bin/python manage.py runserver 127.0.0.1:8001 --noreload
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fibsite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
