"""Export trained models to ONNX and OpenVINO IR (fp32, fp16, INT8), checked against PyTorch."""

from yomitori.export.build import FORMATS, PRECISIONS, ExportResult, export_model
from yomitori.export.spec import ExportSpec, InputSpec, get_export_spec, register_export_spec

__all__ = [
    "FORMATS",
    "PRECISIONS",
    "ExportResult",
    "ExportSpec",
    "InputSpec",
    "export_model",
    "get_export_spec",
    "register_export_spec",
]
