"""The reading pipeline: render → layout → recognize → assemble → write (see run.py).

Stages pass typed values (:class:`yomitori.types.PageImage`, :class:`yomitori.document.Page`);
only ``render`` and the writers touch the disk. The OCR engine (layout + recognition) is an
interface (:mod:`yomitori.pipeline.engine`), so tests drive everything with a fixed engine.
No module here imports torch: models run through :mod:`yomitori.runtime`.
"""
