"""Thin Typer command line over the library: each subcommand parses options and calls one function."""
