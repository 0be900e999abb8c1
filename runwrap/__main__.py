from runwrap.cli import main

raise SystemExit(main())
