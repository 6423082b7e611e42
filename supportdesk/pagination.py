"""The API's page-number pagination, with pages bounded so the offset fits the database's integers.

ninja's own ``page`` is any positive integer: ``?page=`` beyond bigint reached PostgreSQL
as an OFFSET it refuses (a 500). Bounded, it is a 422 naming the limit.
"""

from ninja import Field, Schema
from ninja.pagination import PageNumberPagination as NinjaPageNumberPagination

MAX_PAGE = 1_000_000   # times ninja's largest page (100 rows): far inside bigint


class PageNumberPagination(NinjaPageNumberPagination):
    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE)
        page_size: int | None = Field(None, ge=1)   # ninja clamps it to its largest page
