"""A minimal Django project: the seed article's Django app on the generated ``cfib`` package."""
