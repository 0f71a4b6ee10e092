"""`python -m inspector` runs the command line, like the `inspector` script."""

from inspector.cli import main

main()
