"""Routes of the seed article's Django app (without its admin: there is no database)."""

from django.urls import path, register_converter

from .views import fibonacci_native_view, home_view


class SignedIntConverter:
    """Like Django's ``<int:n>``, but also matches a minus sign, so that a negative n reaches
    the view and gets the article's 400 instead of a 404."""

    regex = "-?[0-9]+"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(SignedIntConverter, "sint")

urlpatterns = [
    path("", home_view),
    path("fibonacci_native/<sint:n>/", fibonacci_native_view),
]
