"""The report as one self-contained HTML page: no stylesheet, script, font or image to fetch.

The matrix is colour-coded by outcome; every cell links to its log (relative to the page, so
the page works wherever the results folder is); cells inside the trigger's condition are
outlined. Pure: the caller says where the logs are from the page and writes the file.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from buglab import model
from buglab.lab import render
from buglab.report import comment, evidence, facts, pivot, trigger
from buglab.report.comment import Source

#: what a cell says in words, so that the page reads without an emoji font or colour vision
WORDS = {
    model.Outcome.PASSED: "pass",
    model.Outcome.REPRODUCED: "BUG",
    model.Outcome.FAILED: "fail",
    model.Outcome.TIMEOUT: "timeout",
    model.Outcome.ENV_ERROR: "env-error",
    model.Outcome.UNAVAILABLE: "n/a",
    model.Outcome.FLAKY: "flaky",
    model.Outcome.NOT_RUN: "not run",
}
COLOURS = {
    model.Outcome.PASSED: "#d9f2d9",
    model.Outcome.REPRODUCED: "#f8c9c4",
    model.Outcome.FAILED: "#fde8b0",
    model.Outcome.TIMEOUT: "#e8d5f5",
    model.Outcome.ENV_ERROR: "#f5d6a8",
    model.Outcome.UNAVAILABLE: "#e6e6e6",
    model.Outcome.FLAKY: "#f2c4ec",
    model.Outcome.NOT_RUN: "#f4f4f4",
}
STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 75em; color: #222;
       padding: 0 1em; }
code, pre { font: 13px/1.4 ui-monospace, monospace; }
pre { background: #f6f8fa; padding: .8em; overflow-x: auto; }
table { border-collapse: collapse; margin: .6em 0 1.2em; }
th, td { border: 1px solid #bbb; padding: .25em .6em; text-align: center; }
th { background: #f0f0f0; font-weight: 600; }
td.label { text-align: left; background: #fafafa; }
table.versions td { text-align: left; }
td.cell a { text-decoration: none; color: inherit; display: block; }
td.in-trigger { outline: 3px dashed #b00020; outline-offset: -4px; }
.trigger { font-size: 1.05em; }
.legend span { display: inline-block; padding: .1em .5em; margin: .15em; border: 1px solid #bbb; }
details { margin: .5em 0; } summary { cursor: pointer; font-weight: 600; }
"""
STYLE += "".join(f"td.outcome-{o.value} {{ background: {c}; }}\n" for o, c in COLOURS.items())
STYLE += "".join(f".legend .outcome-{o.value} {{ background: {c}; }}\n" for o, c in COLOURS.items())


def inline(markdown: str) -> str:
    """The inline markdown the comment uses (code spans, bold, italics) as HTML, escaped."""
    out = []
    for i, part in enumerate(re.split(r"(`+)(.+?)\1", markdown)):
        if i % 3 == 2:
            out.append(f"<code>{html.escape(part.strip())}</code>")
        elif i % 3 == 0:
            text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(part))
            out.append(re.sub(r"(?<![*\w])\*(\S.*?)\*(?![*\w])", r"<em>\1</em>", text))
    return "".join(out)


ITEM = re.compile(r"^ ?[-*] ")


def blocks(markdown: str) -> str:
    """Paragraphs and bullet lists (the markdown a description uses) as HTML."""
    out = []
    for block in re.split(r"\n\s*\n", markdown.strip()):
        prose: list[str] = []
        items: list[str] = []
        for line in block.splitlines():
            if ITEM.match(line):
                items.append(ITEM.sub("", line))
            elif items:
                items[-1] += " " + line.strip()
            else:
                prose.append(line.strip())
        if prose:
            out.append(f"<p>{inline(' '.join(prose))}</p>")
        if items:
            out.append("<ul>" + "".join(f"<li>{inline(item)}</li>" for item in items) + "</ul>")
    return "\n".join(out)


def page(source: Source, logs: str) -> str:
    """The whole page; ``logs`` is the path from the page's folder to the results folder."""
    result = source.result
    finding = source.finding
    body = [
        f"<h1>{inline(result.title)}</h1>",
        f"<p class='summary'>{inline(comment.summary_paragraph(source))}</p>",
        "<h2>Trigger</h2>",
        _trigger(source, finding),
        "<h2>Results</h2>",
        _tables(source, finding, logs),
        "<h2>Minimal reproduction</h2>",
        _reproduction(source),
        "<h2>Output, one cell per cause</h2>",
        _outputs(source),
        "<h2>Environment</h2>",
        blocks(comment.environment_section(result)),
        "<h2>Background (the scenario's description)</h2>",
        blocks(source.description),
        _links(source.links),
    ]
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(result.scenario)}: buglab report</title>"
        f"<style>{STYLE}</style></head>\n<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def _trigger(source: Source, finding: trigger.Finding) -> str:
    intro, lines = comment.trigger_lines(source)
    items = []
    for line, exceptions in lines:
        sub = "".join(f"<li>{inline(item)}</li>" for item in exceptions)
        items.append(
            f"<li class='trigger'>{inline(line)}" + (f"<ul>{sub}</ul>" if sub else "") + "</li>"
        )
    outlined = any(_outlines(t) for t in finding.shown)
    note = (
        "<p>Reproduced and passed cells inside the stated condition are outlined in the tables "
        "below: a passed cell outlined, or a reproduced one not, is an exception.</p>"
    )
    return f"<p>{inline(intro)}</p><ul id='trigger'>{''.join(items)}</ul>" + (
        note if outlined else ""
    )


def _outlines(found: trigger.Trigger) -> bool:
    """Whether a trigger names cells worth outlining (not "every cell", not "none")."""
    if found.condition is None or found.passed == 0:
        return False
    return found.exact or found.unless is not None or bool(found.condition.terms)


def _in_trigger(cell: model.CellResult, finding: trigger.Finding) -> bool:
    """Whether the condition stated for this cell's scope holds on it."""
    labels = cell.label_map
    for found in finding.shown:
        if all(labels.get(a) == v for a, v in found.scope):
            if not _outlines(found):
                return False
            assert found.condition is not None
            if not found.exact and found.unless is not None:
                return not found.unless.holds(labels)
            return found.condition.holds(labels)
    return False


def _tables(source: Source, finding: trigger.Finding, logs: str) -> str:
    result = source.result
    parts = [f"<p>Command: <code>{html.escape(render.shown_command(result.command))}</code></p>"]
    if source.layout.fixed:
        parts.append(
            f"<p>Every cell here has {html.escape(facts.label_text(source.layout.fixed))}.</p>"
        )
    for table in pivot.build(result, source.layout):
        parts.append(_table(table, result, finding, logs))
    legend = "".join(
        f"<span class='outcome-{o.value}'>{WORDS[o]} = {html.escape(render.MEANINGS[o])}</span>"
        for o in render.legend_outcomes(result)
    )
    parts.append(f"<p class='legend'>{legend}</p>")
    parts.append(blocks(comment.axes_meaning(source)))
    parts.append(_versions_table(result))
    return "\n".join(parts)


def _table(
    table: pivot.Table, result: model.MatrixResult, finding: trigger.Finding, logs: str
) -> str:
    row_axes = [name for name, _ in table.rows[0]] if table.rows and table.rows[0] else [""]
    caption = (
        f"<caption>{html.escape(facts.label_text(table.caption))}</caption>"
        if table.caption
        else ""
    )
    col_axes = [name for name, _ in table.cols[0]] if table.cols and table.cols[0] else []
    head = []
    for depth, axis in enumerate(col_axes or ["outcome"]):
        cells = [
            f"<th>{html.escape(a)}</th>" if depth == len(col_axes) - 1 else "<th></th>"
            for a in row_axes
        ]
        for label, span in _spans([col[: depth + 1] for col in table.cols]):
            text = f"{axis}={label}" if col_axes else "outcome"
            cells.append(f"<th colspan='{span}'>{html.escape(text)}</th>")
        head.append("<tr>" + "".join(cells) + "</tr>")
    rows: list[str] = []
    previous: pivot.Key = ()
    for row, grid in zip(table.rows, table.grid):
        labels = comment.grouped(row, previous) if row and row[0] else [""]
        previous = row
        cells = [f"<td class='label'>{html.escape(label)}</td>" for label in labels]
        cells += [_cell(cell, result, finding, logs) for cell in grid]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table>{caption}<thead>{''.join(head)}</thead><tbody>{''.join(rows)}</tbody></table>"


def _spans(keys: Iterable[tuple[tuple[str, str], ...]]) -> list[tuple[str, int]]:
    """Runs of equal column keys: the label of the last axis and how many columns it spans."""
    spans: list[tuple[tuple[tuple[str, str], ...], int]] = []
    for key in keys:
        if spans and spans[-1][0] == key:
            spans[-1] = (key, spans[-1][1] + 1)
        else:
            spans.append((key, 1))
    return [(key[-1][1] if key else "", n) for key, n in spans]


def _cell(
    cell: model.CellResult | None, result: model.MatrixResult, finding: trigger.Finding, logs: str
) -> str:
    if cell is None:
        return "<td class='empty'></td>"
    inside = cell.outcome in trigger.EVIDENCE and _in_trigger(cell, finding)
    classes = f"cell outcome-{cell.outcome.value}" + (" in-trigger" if inside else "")
    title = html.escape(
        f"{cell.id}: {cell.outcome.value}" + (f" - {cell.detail}" if cell.detail else "")
    )
    text = html.escape(word(cell, result.started))
    link = f"{logs}{cell.log}" if cell.log else ""
    inner = f"<a href='{html.escape(link)}'>{text}</a>" if link else text
    return (
        f"<td class='{classes}' data-outcome='{cell.outcome.value}' "
        f"data-cell='{html.escape(cell.id)}' title='{title}'>{inner}</td>"
    )


def _versions_table(result: model.MatrixResult) -> str:
    found = facts.versions(result)
    same = ", ".join(f"{n} {v}" for n, v in found.same) or "none"
    out = [f"<p>Versions every venv agrees on: {html.escape(same)}.</p>"]
    if found.varying:
        head = "".join(f"<th>{html.escape(k)}</th>" for k in [*found.key, "versions that vary"])
        body = "".join(
            "<tr>"
            + "".join(f"<td>{html.escape(label)}</td>" for _, label in row.key)
            + f"<td>{html.escape(_version_text(row))}</td></tr>"
            for row in found.rows
        )
        out.append(
            f"<table class='versions'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )
    return "\n".join(out)


def word(cell: model.CellResult, started: str) -> str:
    """``BUG``, ``flaky 2/3``, ``pass ≠ expected BUG``, ``BUG†``: the table's symbol in words."""
    return render.symbol(cell, started, WORDS, "≠ expected")


def _version_text(row: facts.VersionRow) -> str:
    return ", ".join(f"{n} {v}" for n, v in row.versions) or row.note


def _reproduction(source: Source) -> str:
    text = evidence.reproduction_text(source)
    if text is None:
        return f"<p>{inline(evidence.no_reproduction(source))}</p>"
    script = html.escape(text.script)
    return (
        f"<p>{inline(text.intro)}</p><pre id='reproduction'>{script}</pre>"
        f"<p>{inline(text.after)}</p>"
    )


def _outputs(source: Source) -> str:
    shown, _ = evidence.outputs(source, comment.Trim(causes=None))
    out = []
    for output in shown:
        body = f"<p>{inline(output.status)}</p>"
        if output.where:
            body += f"<p>{inline(output.where)}</p>"
        if output.excerpt:
            body += f"<pre>{html.escape(output.excerpt)}</pre>"
        if output.pins:
            python = output.cell.versions.get("python", "?")
            body += f"<p>Its venv (Python {html.escape(python)}):</p>"
            body += f"<pre>{html.escape(chr(10).join(output.pins))}</pre>"
        out.append(f"<details><summary>{html.escape(output.head)}</summary>{body}</details>")
    return "\n".join(out)


def _links(links: Iterable[str]) -> str:
    items = "".join(f"<li><a href='{html.escape(u)}'>{html.escape(u)}</a></li>" for u in links)
    return f"<ul class='links'>{items}</ul>" if items else ""
