"""The API's pagination: DRF's limit/offset with a largest page, so that any `limit` gives a
page (an unbounded one past a bigint is an error from the database)."""

from rest_framework.pagination import LimitOffsetPagination


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    max_limit = 500
