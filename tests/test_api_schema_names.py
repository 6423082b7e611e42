"""Every name in the API's schema means one thing (issue #18).

ninja names a schema component after its class and keeps the last class of a name it meets:
two ``AvailabilityOut`` (and later two ``ErrorOut``) silently documented one shape for both.
"""

import typing
from collections import Counter

from pydantic import BaseModel

from supportdesk.api import api


def _models_in(annotation) -> typing.Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        for field in annotation.model_fields.values():
            yield from _models_in(field.annotation)
    for argument in typing.get_args(annotation):
        yield from _models_in(argument)


def _operations():
    for router in api._get_bound_routers():
        for path_view in router.path_operations.values():
            yield from path_view.operations


def test_no_two_schemas_share_a_name():
    models = set()
    for operation in _operations():
        for model in [*operation.models, *(m for m in operation.response_models.values() if m)]:
            models.update(m for m in _models_in(model) if m.__name__ != "NinjaResponseSchema"
                          and not hasattr(m, "__ninja_param_source__"))
    shared = {name for name, count in Counter(model.__name__ for model in models).items() if count > 1}
    assert not shared, f"schemas sharing a name: {sorted(shared)}"


def test_operation_ids_are_unique():
    schema = api.get_openapi_schema()
    ids = [operation["operationId"] for path in schema["paths"].values() for operation in path.values()]
    assert len(ids) == len(set(ids)) == 16
