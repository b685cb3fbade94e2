"""Model zoo: classic architectures for small grayscale images, line recognizers, layout."""

from yomitori.models.registry import (
    count_flops,
    count_parameters,
    create_model,
    get_entry,
    list_models,
    register_model,
)

__all__ = [
    "count_flops",
    "count_parameters",
    "create_model",
    "get_entry",
    "list_models",
    "register_model",
]
