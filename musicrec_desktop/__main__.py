from musicrec_desktop.cli import main

raise SystemExit(main())
