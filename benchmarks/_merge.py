"""BENCHMARKS.md from a run of some workloads only: each section that run measured replaces its
namesake, a new one goes where it belongs, and every other section (the footer; the machine,
unless the run measured every workload but the first chunk) is kept as it was. A section is
named by its heading up to any colon (``## Memory: ...``)."""

from __future__ import annotations

#: every section in the order of a full report, and the workloads that must all have run for
#: a partial run to rewrite it (``None``: only a full run does)
SECTIONS: dict[str, set[str] | None] = {
    # the first-chunk sections say when and at which commit they were measured
    "Machine and versions": {"single", "connect", "concurrent", "rss", "llm", "idle"},
    "One stream": {"single"},
    "Connect latency and first send": {"connect"},
    "Concurrent streams": {"concurrent"},
    "Memory": {"rss"},
    "LLM pace": {"llm"},
    "Idle writers": {"idle"},
    "First chunk": {"first-chunk"},
    "The issue's targets": {"single", "connect", "concurrent"},
    "The targets at real load": {"llm"},
    "The first-chunk targets": {"first-chunk"},
}

Section = tuple[str, list[str]]


def section_name(heading: str) -> str:
    return heading.removeprefix("## ").split(":", 1)[0].strip()


def split(text: str) -> tuple[list[str], list[Section], list[str]]:
    """The lines before the first section, the sections, and the footer (``_Generated ..._``)."""
    head: list[str] = []
    sections: list[Section] = []
    for line in text.splitlines():
        if line.startswith("## "):
            sections.append((section_name(line), [line]))
        elif sections:
            sections[-1][1].append(line)
        else:
            head.append(line)
    footer: list[str] = []
    if sections:
        lines = sections[-1][1]
        while lines and (not lines[-1].strip() or lines[-1].startswith("_Generated")):
            footer.insert(0, lines.pop())
    return head, sections, footer


def _tidy(lines: list[str]) -> list[str]:
    """A section's lines ending in exactly one blank line."""
    body = [*lines]
    while body and not body[-1].strip():
        body.pop()
    return [*body, ""]


def _rank(name: str) -> int:
    order = list(SECTIONS)
    return order.index(name) if name in order else len(order)


def merge(existing: str, fresh: str, workloads: set[str]) -> tuple[str, list[str]]:
    """``existing`` with the sections of ``fresh`` that ``workloads`` measured; and their names."""
    head, kept, footer = split(existing)
    _, new, fresh_footer = split(fresh)
    taken = [
        (name, lines)
        for name, lines in new
        if (needs := SECTIONS.get(name)) is not None and needs <= workloads
    ]
    merged = [(name, _tidy(lines)) for name, lines in kept]
    for name, lines in taken:
        body = _tidy(lines)
        places = [i for i, (other, _) in enumerate(merged) if other == name]
        if places:
            merged[places[0]] = (name, body)
            continue
        later = [i for i, (other, _) in enumerate(merged) if _rank(other) > _rank(name)]
        merged.insert(later[0] if later else len(merged), (name, body))
    if any(name == "Machine and versions" for name, _ in taken):
        footer = fresh_footer  # the run's date and settings go with its machine section
    lines = [*head]
    for _, body in merged:
        lines += body
    lines += [line for line in footer if line.strip()]
    return "\n".join(lines).rstrip("\n") + "\n", [name for name, _ in taken]
