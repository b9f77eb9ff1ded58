"""`python -m revolving_door` runs the command line."""

from revolving_door.cli.app import main

main()
