"""The evaluation report: Markdown and HTML pages beside metrics.json."""

import dataclasses
import html
import os


def _rows(metrics: dict[str, float]) -> list[tuple[str, str]]:
    return [(k, f"{v:.6g}" if isinstance(v, float) else str(v)) for k, v in metrics.items()]


def write(out_dir: str, title: str, metrics: dict[str, float], protocol, figures: dict[str, str],
          notes: list[str]) -> dict[str, str]:
    """report.md and report.html in `out_dir`; figure paths are made relative to it."""
    rel = {name: os.path.relpath(path, out_dir) for name, path in figures.items()}
    proto = dataclasses.asdict(protocol)
    md = [f"# {title}", "", "## Metrics", "", "| metric | value |", "|---|---|"]
    md += [f"| {k} | {v} |" for k, v in _rows(metrics)]
    md += ["", "## Protocol", "", "| field | value |", "|---|---|"]
    md += [f"| {k} | {v} |" for k, v in proto.items()]
    if notes:
        md += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    md += ["", "## Figures", ""]
    md += [f"### {name}\n\n![{name}]({path})\n" for name, path in rel.items()]
    paths = {"markdown": os.path.join(out_dir, "report.md"), "html": os.path.join(out_dir, "report.html")}
    with open(paths["markdown"], "w") as f:
        f.write("\n".join(md) + "\n")

    def table(rows):
        body = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in rows)
        return f"<table border=1 cellpadding=4 style='border-collapse:collapse'>{body}</table>"

    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head><body>",
             f"<h1>{html.escape(title)}</h1><h2>Metrics</h2>", table(_rows(metrics)), "<h2>Protocol</h2>",
             table([(k, str(v)) for k, v in proto.items()])]
    if notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    parts.append("<h2>Figures</h2>")
    parts += [f"<h3>{html.escape(n)}</h3><img src='{html.escape(p)}' alt='{html.escape(n)}'>" for n, p in rel.items()]
    parts.append("</body></html>")
    with open(paths["html"], "w") as f:
        f.write("\n".join(parts) + "\n")
    return paths
