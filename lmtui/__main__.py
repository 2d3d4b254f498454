from lmtui.cli import main

main()
