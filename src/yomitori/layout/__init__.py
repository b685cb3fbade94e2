"""Layout post-processing in NumPy: model maps to regions and lines, directions, reading order, tables.

Nothing here imports torch: the pipeline calls it with the numpy output of any runtime backend.
"""
