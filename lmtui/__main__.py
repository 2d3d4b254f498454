"""`python -m lmtui`: the same as the `lmtui` command."""

from lmtui.cli import main

if __name__ == "__main__":
    main()
