"""The API's JSON parser: DRF's, refusing a body nested too deeply for Python's JSON decoder.

DRF turns a decoder's ValueError into a 400 but lets the RecursionError of a body such as 5,000
`[` through as a 500; here both are a ParseError, which core.errors shapes like every
other bad input.
"""

from collections.abc import Mapping
from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
