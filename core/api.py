"""What the apps' DRF views share."""

from django.contrib.auth.models import User
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request


def authenticated_user(request: Request) -> User:
    """The request's user, for views that IsAuthenticated already guards."""
    if not isinstance(request.user, User):
        raise NotAuthenticated()
    return request.user
