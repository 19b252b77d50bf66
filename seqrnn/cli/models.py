"""``seqrnn info`` (describe one model bundle) and ``seqrnn models`` (list the built-in models)."""

from __future__ import annotations

import json

import typer


def info(
    model: str = typer.Argument(..., help="Built-in model name or .pt path."),
    as_json: bool = typer.Option(False, "--json", help="Print the full metadata as JSON."),
) -> None:
    """Describe a model bundle: heads, classes, architecture, training data and validation metrics."""
    from seqrnn.bundle import load_bundle

    bundle = load_bundle(model)
    if as_json:
        typer.echo(
            json.dumps({**bundle.metadata, "sha256": bundle.sha256, "path": str(bundle.path)}, indent=2)
        )
    else:
        typer.echo(bundle.describe())


def models() -> None:
    """List the built-in models."""
    from seqrnn.bundle import builtin_index

    index = builtin_index()
    if not index:
        typer.echo("no built-in models in this installation")
    for name, entry in index.items():
        typer.echo(f"{name:<14} {entry.get('description', '')}")
