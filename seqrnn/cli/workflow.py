"""``seqrnn workflow``: where the shipped Snakemake workflow is, or a copy of it to run and edit."""

from __future__ import annotations

from pathlib import Path

import typer

from seqrnn.cli import common


def workflow(
    copy: Path | None = typer.Option(
        None,
        "--copy",
        help="Copy the Snakefile, config.yaml, schemas/, profiles/, slurm/ and the example inputs the "
        "config names into this folder.",
    ),
    force: bool = typer.Option(False, "--force", help="With --copy: overwrite files that exist."),
) -> None:
    """Print the installed Snakefile's path, or copy the workflow into a folder (--copy DIR)."""
    from seqrnn.resources import copy_workflow, workflow_dir

    if copy is None:
        typer.echo(workflow_dir() / "Snakefile")
        return
    written = copy_workflow(copy, force=force)
    common.say(
        f"wrote {len(written)} files to {copy}; dry run: snakemake -s {copy / 'Snakefile'} -n\n"
        f"run: snakemake -s {copy / 'Snakefile'} -d results --cores 2 "
        f"(SLURM: --profile {copy / 'profiles' / 'slurm'})"
    )
