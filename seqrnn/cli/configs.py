"""``seqrnn configs``: list the built-in run configs; ``seqrnn configs show NAME`` prints one."""

from __future__ import annotations

import typer

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="List the built-in run configs (name and description); 'configs show NAME' prints one.",
)


@app.callback(invoke_without_command=True)
def configs(ctx: typer.Context) -> None:
    """List the built-in run configs (name and description); 'configs show NAME' prints one."""
    if ctx.invoked_subcommand is not None:
        return
    from seqrnn.resources import describe_configs

    found = describe_configs()
    width = max((len(name) for name, _ in found), default=0) + 2
    for name, summary in found:
        typer.echo(f"{name:<{width}}{summary}".rstrip())


@app.command("show")
def show(name: str = typer.Argument(..., help="A name from 'seqrnn configs'.")) -> None:
    """Print a built-in config as YAML ('seqrnn configs show NAME > my.yaml' writes a copy to edit)."""
    from seqrnn.resources import config_path

    typer.echo(config_path(name).read_text(), nl=False)
