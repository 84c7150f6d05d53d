from heavylegs.cli import main

main()
