"""Stand-alone HTML pages of the tables and of the summary, for the Snakemake report.

The report (``snakemake --report``) displays images, HTML and PDF in its main panel; a CSV or
Markdown file is only offered for download. So every table goes into the report as a small HTML
page made from its Markdown file (title, table, notes: the same text as the file), with the data
source above it, and the summary ``paper.md`` likewise. :func:`markdown_to_html` renders the
subset of Markdown that :func:`deepsphere.reporting.tables.to_markdown` and
:mod:`deepsphere.reporting.summary` write: headings, pipe tables, bullet lists, paragraphs,
``**bold**``, ```code``` and ``[text](link)``.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Sequence
from pathlib import Path

from deepsphere.io.atomic import atomic_write_text
from deepsphere.reporting.summary import (
    ExperimentResults,
    data_description,
    table_markdown,
    title_label,
)

__all__ = ["markdown_to_html", "page", "page_path", "report_entries", "table_pages",
           "write_pages"]

_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_INLINE = re.compile(r"\*\*(.+?)\*\*|`([^`]+)`|\[([^\]]+)\]\(([^)\s]+)\)")
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #1e293b; }
h1 { font-size: 1.4em; } h2 { font-size: 1.2em; margin-top: 1.6em; } h3 { font-size: 1.05em; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.6em 0; }
th, td { border: 1px solid #cbd5e1; padding: 0.25em 0.5em; text-align: right;
  white-space: nowrap; }
th { background: #e2e8f0; } tr:nth-child(even) td { background: #f8fafc; }
td.text { text-align: left; white-space: normal; min-width: 10em; }
td.pass { color: #15803d; } td.fail { color: #b91c1c; font-weight: bold; }
li { margin: 0.2em 0; } .data { background: #fef9c3; padding: 0.4em; }
"""


def _inline(text: str) -> str:
    """Escape ``text`` and render bold, code and links."""
    out, last = [], 0
    for m in _INLINE.finditer(text):
        out.append(html.escape(text[last:m.start()]))
        bold, code, label, href = m.groups()
        if bold is not None:
            out.append(f"<strong>{_inline(bold)}</strong>")
        elif code is not None:
            out.append(f"<code>{html.escape(code)}</code>")
        else:
            out.append(f'<a href="{html.escape(href)}">{_inline(label)}</a>')
        last = m.end()
    out.append(html.escape(text[last:]))
    return "".join(out).replace("\\|", "|")


def _cells(line: str) -> list[str]:
    return [c.strip().replace("\\|", "|") for c in _CELL_SPLIT.split(line.strip().strip("|"))]


def _table(lines: list[str]) -> str:
    header, body = _cells(lines[0]), [_cells(line) for line in lines[2:]]
    rows = ["<tr>" + "".join(f"<th>{_inline(c)}</th>" for c in header) + "</tr>"]
    for row in body:
        cells = []
        for c in row:
            kind = {"pass": "pass", "FAIL": "fail"}.get(c)
            if kind is None:
                kind = "num" if re.fullmatch(r"[-+0-9.,e–% ]+", c) else "text"
            cells.append(f'<td class="{kind}">{_inline(c)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return '<div class="scroll"><table>\n' + "\n".join(rows) + "\n</table></div>"


def markdown_to_html(text: str) -> str:
    """HTML of the Markdown subset the reporting modules write (see the module docstring)."""
    blocks, lines = [], text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif m := re.match(r"(#{1,6}) (.*)", line):
            level, title = len(m.group(1)), m.group(2).strip()
            anchor = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
            blocks.append(f'<h{level} id="{html.escape(anchor)}">{_inline(title)}</h{level}>')
            i += 1
        elif line.lstrip().startswith("|"):
            j = i
            while j < len(lines) and lines[j].lstrip().startswith("|"):
                j += 1
            blocks.append(_table(lines[i:j]))
            i = j
        elif line.startswith("- "):
            items = []
            while i < len(lines) and lines[i].startswith("- "):
                items.append(f"<li>{_inline(lines[i][2:])}</li>")
                i += 1
            blocks.append("<ul>" + "".join(items) + "</ul>")
        else:
            para = []
            while i < len(lines) and lines[i].strip() and not re.match(r"#|\||- ", lines[i]):
                para.append(lines[i].strip())
                i += 1
            blocks.append(f"<p>{_inline(' '.join(para))}</p>")
    return "\n".join(blocks)


def page(title: str, body_html: str) -> str:
    """A complete, self-contained HTML document."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>\n"
            f"<body>\n{body_html}\n</body></html>\n")


def page_path(pages_dir: str | os.PathLike, experiment: str, table: str | os.PathLike) -> str:
    """Where the HTML page of ``table`` goes: ``<pages_dir>/<experiment>/<stem>.html``."""
    return f"{pages_dir}/{experiment}/{Path(table).stem}.html"


def table_pages(pages_dir: str | os.PathLike, exp: ExperimentResults) -> dict[str, str]:
    """``{table file: page}`` for an experiment's tables and its checks (the Markdown twin when
    there is one)."""
    tables = list(exp.tables)
    if exp.checks_md or exp.checks:
        tables.append(exp.checks_md or exp.checks)
    return {t: page_path(pages_dir, exp.name, t) for t in tables}


def report_entries(pages_dir: str | os.PathLike, experiments: Sequence[ExperimentResults], *,
                   captions: str = "../report") -> list[tuple[str, dict]]:
    """``(page, flags)`` for every table page: the arguments of Snakemake's ``report()`` flag,
    its caption ``<captions>/<experiment>/tables/<stem>.rst``, its experiment's category,
    subcategory ``Tables`` and its title as label (:func:`summary.title_label`)."""
    entries = []
    for exp in experiments:
        for table, path in table_pages(pages_dir, exp).items():
            checks = exp.checks if table in (exp.checks, exp.checks_md) else None
            entries.append((path, {
                "caption": f"{captions}/{exp.name}/tables/{Path(table).stem}.rst",
                "category": exp.title, "subcategory": "Tables",
                "labels": title_label(table, checks=checks)}))
    return entries


def _table_page(table: str, exp: ExperimentResults) -> str:
    text = table_markdown(table, levels=0)
    heading, _, rest = text.partition("\n")
    title = heading.lstrip("# ").strip()
    data = f'<p class="data">{exp.title}: {_inline(data_description(exp.source))}</p>'
    files = f"<p>File: <code>{html.escape(table)}</code> (CSV beside it: full precision)</p>"
    return page(title, f"<h1>{_inline(title)}</h1>\n{data}\n{markdown_to_html(rest)}\n{files}")


def write_pages(experiments: Sequence[ExperimentResults], pages_dir: str | os.PathLike,
                summary_md: str | os.PathLike | None = None,
                summary_html: str | os.PathLike | None = None) -> list[str]:
    """Write every table's page (and the summary's, if both paths are given); the paths."""
    written = []
    for exp in experiments:
        for table, path in table_pages(pages_dir, exp).items():
            atomic_write_text(path, _table_page(table, exp))
            written.append(path)
    if summary_md is not None and summary_html is not None:
        text = Path(summary_md).read_text(encoding="utf-8")
        title = text.splitlines()[0].lstrip("# ").strip() if text else "Summary"
        atomic_write_text(summary_html, page(title, markdown_to_html(text)))
        written.append(str(summary_html))
    return written
