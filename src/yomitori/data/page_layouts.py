"""The four page kinds: vertical (tategaki), horizontal, mixed and form pages.

Each ``*_page(ctx, box, number)`` fills the content ``box`` (page margins outside it hold the
running head and the page number) and creates regions in reading order.
"""

from __future__ import annotations

import numpy as np

from yomitori.data.page_canvas import Box
from yomitori.data.page_elements import digit_field, draw_figure, handwriting
from yomitori.data.page_templates import (
    Ctx,
    Flow,
    figure_with_caption,
    page_number,
    running_head,
    short_lines,
    table_with_caption,
    text_columns,
    text_rows,
    title_block,
)
from yomitori.data.typeset import layout_line
from yomitori.types import Direction, RegionClass


def _line_gap(ctx: Ctx, lo: float, hi: float) -> int:
    # furigana sits in the gap between lines: leave it room
    return ctx.em(max(lo, 0.72) if ctx.furigana > 0 else lo, max(hi, 0.9))


def vertical_page(ctx: Ctx, box: Box, number: int, horizontal_title: bool = False,
                  tables: bool = False) -> None:
    """Bands (段) top to bottom, each with vertical columns right to left."""
    x0, y0, x1, y1 = box
    rng = ctx.rng
    running_head(ctx, box)
    if horizontal_title:
        y0 = title_block(ctx, x0, x1, y0)
    n_bands = int(rng.choice([1, 2, 3], p=[0.6, 0.3, 0.1]))
    band_gap = ctx.em(1.6, 3.0)
    band_h = (y1 - y0 - (n_bands - 1) * band_gap) // n_bands
    while n_bands > 1 and band_h < ctx.size * 12:
        n_bands -= 1
        band_h = (y1 - y0 - (n_bands - 1) * band_gap) // n_bands
    gap = _line_gap(ctx, 0.5, 1.0)
    flow = Flow(ctx, True)
    fig_no = int(rng.integers(1, 9))
    for b in range(n_bands):
        by0 = y0 + b * (band_h + band_gap)
        by1 = by0 + band_h
        if b and rng.random() < 0.5:
            ry = by0 - band_gap // 2
            ctx.canvas.rect((x0, ry, x1, ry + max(1, ctx.size // 14)), ctx.ink)
        x = x1
        if b == 0 and not horizontal_title and rng.random() < 0.5:
            size = ctx.em(1.5, 2.3)
            texts = short_lines(ctx, ctx.pool.phrase(rng, ctx.title_font, 5, 24), ctx.title_font, size,
                                band_h, True, 2)
            lines = [ctx.draw(t, (x - (k + 1) * size - k * (size // 3), by0 + (size if k else 0)), True,
                              ctx.title_font, size) for k, t in enumerate(texts)]
            if lines:
                ctx.region(RegionClass.TITLE, lines)
                x = ctx.canvas.regions[-1].bbox[0] - ctx.em(1.5, 2.5)
        width = x - x0
        figure_at = rng.uniform(0.0, 0.6) if rng.random() < 0.35 else None
        table_at = rng.uniform(0.0, 0.6) if tables and figure_at is None and rng.random() < 0.5 else None
        insert_at = figure_at if figure_at is not None else table_at
        if rng.random() < 0.3:  # a section heading column in the flow
            hsize = ctx.em(1.2, 1.5)
            text = short_lines(ctx, ctx.pool.phrase(rng, ctx.title_font, 4, 14), ctx.title_font, hsize,
                               band_h - hsize, True, 1)
            if text and x - hsize > x0 + width * 0.3:
                ctx.region(RegionClass.TITLE, [ctx.draw(text[0], (x - hsize, by0 + hsize), True,
                                                        ctx.title_font, hsize)])
                x = ctx.canvas.regions[-1].bbox[0] - ctx.em(1.2, 2.0)
        if insert_at is not None:
            split = x - round(width * insert_at)
            if split < x:
                lines = text_columns(ctx, flow, x, max(split, x0), by0, by1, gap)
                ctx.region(RegionClass.TEXT, lines)
                if lines:
                    x = ctx.canvas.regions[ctx.canvas.lines[lines[-1]].region].bbox[0] - ctx.em(1.5, 2.2)
            fw = min(round(width * rng.uniform(0.25, 0.45)), x - x0)
            if fw > ctx.size * 5:
                before = len(ctx.canvas.regions)
                if figure_at is not None:
                    figure_with_caption(ctx, x - fw, x, by0, band_h, fig_no)
                else:
                    table_with_caption(ctx, x - fw, x, by0, band_h, fig_no)
                fig_no += 1
                if len(ctx.canvas.regions) > before:
                    x = min(r.bbox[0] for r in ctx.canvas.regions[before:]) - ctx.em(1.5, 2.2)
        lines = text_columns(ctx, flow, x, x0, by0, by1, gap)
        ctx.region(RegionClass.TEXT, lines)
    page_number(ctx, box, number)


def _vertical_box(ctx: Ctx, x0: int, x1: int, y: int, max_h: int) -> int:
    """A boxed column of vertical text inside a horizontal page (コラム); returns the bottom y."""
    rng = ctx.rng
    w = round((x1 - x0) * rng.uniform(0.6, 1.0))
    h = min(ctx.em(8, 20), max_h)
    if h < ctx.size * 6 or w < ctx.size * 5:
        return -1
    bx0 = x0 + (x1 - x0 - w) // 2
    pad = ctx.em(0.8, 1.2)
    if rng.random() < 0.6:
        ctx.canvas.frame((bx0, y, bx0 + w, y + h), max(1, ctx.size // 14), ctx.ink)
    flow = Flow(ctx, True)
    lines = text_columns(ctx, flow, bx0 + w - pad, bx0 + pad, y + pad, y + h - pad, _line_gap(ctx, 0.5, 0.9))
    ctx.region(RegionClass.TEXT, lines)
    return y + h


def horizontal_page(ctx: Ctx, box: Box, number: int, vertical_box: bool = False) -> None:
    """A title, then 1-3 columns left to right, each a stack of text, headings, figures and tables."""
    x0, y0, x1, y1 = box
    rng = ctx.rng
    running_head(ctx, box)
    if rng.random() < 0.8:
        y0 = title_block(ctx, x0, x1, y0)
    ncols = int(rng.choice([1, 2, 3], p=[0.4, 0.45, 0.15]))
    gutter = ctx.em(1.8, 3.0)
    while ncols > 1 and (x1 - x0 - (ncols - 1) * gutter) / ncols < ctx.size * 14:
        ncols -= 1
    colw = (x1 - x0 - (ncols - 1) * gutter) // ncols
    gap = _line_gap(ctx, 0.45, 0.9)
    flow = Flow(ctx, False)
    fig_no, tab_no, boxed = int(rng.integers(1, 9)), int(rng.integers(1, 9)), False
    for c in range(ncols):
        cx0 = x0 + c * (colw + gutter)
        cx1 = cx0 + colw
        y, last = y0, ""
        while y1 - y > ctx.size * 2:
            room = y1 - y
            kinds = ["text", "heading", "figure", "table", "vbox"]
            p = np.array([0.55, 0.0 if last in ("heading", "") else 0.12, 0.13, 0.12,
                          0.3 if vertical_box and not boxed else 0.0])
            kind = "text" if last == "heading" else str(rng.choice(kinds, p=p / p.sum()))
            bottom = -1
            if kind == "heading":
                hsize = ctx.em(1.15, 1.5)
                text = short_lines(ctx, ctx.pool.phrase(rng, ctx.title_font, 4, 20), ctx.title_font, hsize,
                                   colw, False, 1)
                if text and room > hsize * 4:
                    ctx.region(RegionClass.TITLE, [ctx.draw(text[0], (cx0, y), False, ctx.title_font, hsize)])
                    bottom = ctx.canvas.regions[-1].bbox[3]
            elif kind == "figure":
                bottom = figure_with_caption(ctx, cx0, cx1, y, room, fig_no)
                fig_no += 1
            elif kind == "table":
                bottom = table_with_caption(ctx, cx0, cx1, y, room, tab_no)
                tab_no += 1
            elif kind == "vbox":
                bottom = _vertical_box(ctx, cx0, cx1, y, room)
                boxed = bottom >= 0
            if kind == "text" or bottom < 0:
                n_fit = (room + gap) // (ctx.size + gap)
                n = n_fit if rng.random() < 0.3 else min(n_fit, int(rng.integers(3, 16)))
                if n <= 0:
                    break
                lines = text_rows(ctx, flow, cx0, cx1, y, n, gap)
                ctx.region(RegionClass.TEXT, lines)
                bottom = y + n * (ctx.size + gap) - gap
                kind = "text"
            last = kind
            # blocks stand clearly apart from the line spacing inside them, or they are one block
            y = bottom + max(ctx.em(0.9, 1.6), gap + ctx.em(0.6), round(1.6 * gap))
    page_number(ctx, box, number)


def mixed_page(ctx: Ctx, box: Box, number: int) -> None:
    """Vertical body with a horizontal title and tables, or a horizontal article with a vertical box."""
    if ctx.rng.random() < 0.5:
        vertical_page(ctx, box, number, horizontal_title=True, tables=True)
    else:
        horizontal_page(ctx, box, number, vertical_box=True)


FIELD_LABELS = ("氏名", "ふりがな", "住所", "電話番号", "郵便番号", "生年月日", "勤務先", "所属", "連絡先",
                "備考", "申請理由", "会員番号", "メールアドレス", "年齢", "職業", "口座番号", "金額")


def form_page(ctx: Ctx, box: Box, number: int) -> None:
    """A form: title, instructions, ruled rows of printed labels with handwriting or digit boxes."""
    x0, y0, x1, y1 = box
    rng = ctx.rng
    y = title_block(ctx, x0, x1, y0)
    flow = Flow(ctx, False)
    n = int(rng.integers(1, 4))
    gap = ctx.em(0.4, 0.8)
    lines = text_rows(ctx, flow, x0, x1, y, n, gap)
    ctx.region(RegionClass.TEXT, lines)
    y += n * (ctx.size + gap) + ctx.em(1.0, 2.0)
    row_h = ctx.em(2.2, 3.2)
    label_w = round((x1 - x0) * rng.uniform(0.18, 0.3))
    lw = max(1, ctx.size // 12)
    rows = min(int(rng.integers(4, 11)), (y1 - y) // row_h)
    pen = float(rng.uniform(20, 110))
    for r in range(rows):
        ry = y + r * row_h
        ctx.canvas.frame((x0, ry, x1, ry + row_h + lw), lw, ctx.ink)
        ctx.canvas.rect((x0 + label_w, ry, x0 + label_w + lw, ry + row_h), ctx.ink)
        label = str(rng.choice(FIELD_LABELS))
        lab_size = min(ctx.size, (label_w - 2 * ctx.size // 2) // max(len(label), 1))
        if lab_size >= 7:
            ctx.region(RegionClass.TEXT, [ctx.draw(label, (x0 + ctx.size // 2, ry + (row_h - lab_size) // 2),
                                                   False, size=lab_size)])
        fx0, fx1 = x0 + label_w + lw, x1 - lw
        kind = rng.choice(["hand", "digits", "printed", "empty"],
                          p=[0.5, 0.3, 0.1, 0.1] if ctx.digits is not None else [0.75, 0.0, 0.15, 0.1])
        if kind == "hand" and ctx.hand_fonts:
            font = ctx.hand_fonts[int(rng.integers(len(ctx.hand_fonts)))]
            hl = handwriting(ctx.canvas, rng, ctx.pool, font, (fx0, ry + lw, fx1, ry + row_h), pen)
            if hl:
                ctx.canvas.add_region(RegionClass.HANDWRITING, hl)
        elif kind == "digits" and ctx.digits is not None:
            side = min(row_h - 2 * ctx.em(0.3, 0.5), ctx.em(2.0))
            k = int(min(rng.integers(3, 9), (fx1 - fx0 - ctx.size) // side))
            if k >= 2:
                oy = ry + (row_h - side) // 2
                li = digit_field(ctx.canvas, rng, ctx.digits, (fx0 + ctx.size // 2, oy), k, side, ctx.ink, pen)
                ctx.canvas.add_region(RegionClass.DIGITS, [li])
        elif kind == "printed":
            text = str(rng.choice(["はい ・ いいえ", "男 ・ 女", "有 ・ 無", "□ 新規 □ 変更 □ 解約",
                                   "年　　月　　日", "昭和 ・ 平成 ・ 令和"]))
            text = " ".join(text.split())
            w = layout_line(text, ctx.body_font, ctx.size).bbox[2]
            if w < fx1 - fx0 - ctx.size:
                ctx.region(RegionClass.TEXT, [ctx.draw(text, (fx0 + ctx.size // 2, ry + (row_h - ctx.size) // 2),
                                                       False)])
    y += rows * row_h + ctx.em(1.5, 2.5)
    if y1 - y > ctx.size * 6 and rng.random() < 0.6:
        n = int(min(rng.integers(2, 6), (y1 - y) // (ctx.size + gap)))
        lines = text_rows(ctx, flow, x0, x1, y, n, gap)
        ctx.region(RegionClass.TEXT, lines)
        y += n * (ctx.size + gap) + ctx.em(1.0, 1.5)
    if y1 - y > ctx.size * 8 and rng.random() < 0.3:
        w = round((x1 - x0) * rng.uniform(0.3, 0.5))
        draw_figure(ctx.canvas, rng, (x1 - w, y, x1, y + min(w // 2, y1 - y)), ctx.ink)
        ctx.canvas.add_region(RegionClass.FIGURE, [], Direction.HORIZONTAL, bbox=(x1 - w, y, x1, y + min(w // 2, y1 - y)))
    page_number(ctx, box, number)


KINDS = {"vertical": vertical_page, "horizontal": horizontal_page, "mixed": mixed_page, "form": form_page}
