"""``python -m lcvade`` runs the command line."""

from lcvade.cli import main

main()
