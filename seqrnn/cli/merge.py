"""``seqrnn merge``: join the shard files of a ``predict`` or ``variants --shard K/N`` run."""

from __future__ import annotations

from pathlib import Path

import typer

from seqrnn.cli import common, console


def merge(
    shards: list[Path] = typer.Argument(..., help="Shard HDF5 files of one sharded run (all of 1..N)."),
    output: Path = typer.Option(..., "--output", "-o", help="Merged HDF5 file to write (atomically)."),
) -> None:
    """Merge the shard files of a --shard K/N prediction back into one file in input order."""
    from seqrnn.io.merge import merge_shards, merged_unit
    from seqrnn.io.outputs import OutputPlan

    plan = OutputPlan().read("shard file", *shards)
    plan.write("merged file", output)
    plan.check()
    with plan.writing():
        n = merge_shards(shards, output, console.command_line())
    common.say(f"wrote {output}: {n} {merged_unit(shards[0])} from {len(shards)} shards")
