"""``seqrnn info`` (describe one model bundle) and ``seqrnn models`` (list the built-in models)."""

from __future__ import annotations

import json

import typer


def info(
    model: str = typer.Argument(..., help="Built-in model name or .pt path."),
    as_json: bool = typer.Option(False, "--json", help="Print the full metadata as JSON."),
) -> None:
    """Describe a model bundle: heads, classes, architecture, training data and validation metrics."""
    from seqrnn.models.bundle import load_bundle
    from seqrnn.models.zoo import card_text

    bundle = load_bundle(model)
    if as_json:
        typer.echo(
            json.dumps({**bundle.metadata, "sha256": bundle.sha256, "path": str(bundle.path)}, indent=2)
        )
    else:
        typer.echo(bundle.describe())
        if bundle.metadata.get("card"):
            typer.echo(card_text(bundle.metadata["card"]))


def models(
    group: str | None = typer.Option(
        None, "--group", help="Only this group (tf, promoter, moleculenet, protein)."
    ),
) -> None:
    """List the built-in models, one line each: name, task, inputs, outputs, training data, test metric,
    size. Give a group name (tf) or a pattern ('tf-*') to -m to use several at once."""
    from seqrnn.models.bundle import builtin_index
    from seqrnn.models.zoo import model_line

    index = builtin_index()
    if not index:
        typer.echo("no built-in models in this installation")
    known = sorted({e.get("group", "") for e in index.values()} - {""})
    if group is not None and group not in known:
        raise typer.BadParameter(f"--group {group!r}: choose from {', '.join(known)}")
    for name, entry in index.items():
        if group is None or entry.get("group") == group:
            typer.echo(model_line(name, entry))
