"""The OpenAPI schema class: drf-spectacular's, plus the error answers every view can give.

drf-spectacular documents only a view's success; clients (and the schemathesis run in
tests/api) also need the 400/401/403/404/429 bodies that core.errors and DRF produce.
A view's own `extend_schema(responses=...)` for a code wins over these.
"""

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny

# DRF's error body: authentication, permission, not found, throttling.
_ERROR = inline_serializer("ErrorOutput", fields={"detail": serializers.CharField()})
# core.errors: `field` names the bad input (`body` for a body that is not JSON), `errors`
# holds every validation error.
BAD_REQUEST = inline_serializer(
    "BadRequestOutput",
    fields={
        "detail": serializers.CharField(),
        "field": serializers.CharField(allow_null=True, required=False),
        "code": serializers.CharField(required=False),
        "errors": serializers.JSONField(required=False),
    },
)

# core.errors.ApplicationError's body, for the codes a view documents itself (409, 502, ...).
APPLICATION_ERROR = inline_serializer(
    "ApplicationErrorOutput",
    fields={
        "detail": serializers.CharField(),
        "field": serializers.CharField(allow_null=True),
        "code": serializers.CharField(),
    },
)


class AutoSchema(openapi.AutoSchema):
    def _get_serializer_name(
        self, serializer: Any, direction: Any, bypass_extensions: bool = False
    ) -> str:
        """A serializer nested in its view is named after the view (VatCheckApi.InputSerializer:
        VatCheckInput), so that every view's `InputSerializer` gets a component of its own."""
        name: str = super()._get_serializer_name(serializer, direction, bypass_extensions)
        outer, _, inner = type(serializer).__qualname__.rpartition(".")
        if outer and name == inner.removesuffix("Serializer"):
            return outer.removesuffix("Api") + name
        return name

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for code, response in self._error_responses().items():
            if code not in responses:
                body = self._get_response_for_code(response, code)  # type: ignore[no-untyped-call]
                responses[code] = body
        return responses

    def _error_responses(self) -> dict[str, OpenApiResponse]:
        errors: dict[str, OpenApiResponse] = {}
        parameters = self._get_parameters()
        if self._get_request_body() or parameters:  # type: ignore[no-untyped-call]
            errors["400"] = OpenApiResponse(BAD_REQUEST, description="Bad input; `field` names it.")
        if any(not isinstance(permission, AllowAny) for permission in self.view.get_permissions()):
            errors["401"] = OpenApiResponse(_ERROR, description="No or bad credentials.")
            errors["403"] = OpenApiResponse(_ERROR, description="Not allowed.")
        if any(parameter["in"] == "path" for parameter in parameters):
            errors["404"] = OpenApiResponse(_ERROR, description="No such object for this user.")
        if getattr(self.view, "throttle_scope", None):
            errors["429"] = OpenApiResponse(
                _ERROR,
                description="Too many requests; `Retry-After` says when to try again.",
            )
        return errors
