"""Built-in models shipped with the package; ``index.json`` maps names to files and sha256 sums."""
