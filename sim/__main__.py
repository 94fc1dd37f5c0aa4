"""``python -m sim`` runs the command line."""

import sys

try:
    from sim.cli import main
except KeyboardInterrupt:  # Ctrl-C while the command line is still importing
    sys.stderr.write("interrupted\n")
    sys.exit(130)

main(prog_name="withdrawal-sim")
